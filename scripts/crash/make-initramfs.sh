#!/bin/sh
# Builds a busybox-static initramfs for a crash-test guest of one unpacked Debian kernel.
# Usage: make-initramfs.sh KERNEL_DIR OUT.cpio.gz [EXTRA_MODULE.ko]
# The guest's /init traces, prints per-CPU stats on the serial console and crashes itself
# (see guest-init.sh beside this script). Needs busybox-static, cpio, gzip (xz for .ko.xz).
set -eu
kdir=${1:?usage: make-initramfs.sh KERNEL_DIR OUT [EXTRA.ko]}
out=${2:?usage: make-initramfs.sh KERNEL_DIR OUT [EXTRA.ko]}
extra=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
who=make-initramfs.sh
. "$here/initramfs-lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
initramfs_tree "$tmp" tmp
initramfs_modules "$kdir" "$tmp/mods" drivers/firmware/qemu_fw_cfg drivers/misc/pvpanic/pvpanic drivers/misc/pvpanic/pvpanic-mmio > /dev/null
[ -z "$extra" ] || cp "$extra" "$tmp/mods/extra.ko"
cp "$here/guest-init.sh" "$tmp/init"
chmod 755 "$tmp/init"
initramfs_pack "$tmp" "$out"
