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
[ -x /bin/busybox ] || { echo "make-initramfs.sh: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 3; }
mods=$(ls -d "$kdir"/lib/modules/* | head -1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/mods" "$tmp/tmp"
cp /bin/busybox "$tmp/bin/busybox"
for m in drivers/firmware/qemu_fw_cfg drivers/misc/pvpanic/pvpanic drivers/misc/pvpanic/pvpanic-mmio; do
  f=$(ls "$mods/kernel/$m".ko* | head -1)
  case "$f" in
    *.xz) xz -dc "$f" > "$tmp/mods/$(basename "$m").ko" ;;
    *.zst) zstd -qdc "$f" > "$tmp/mods/$(basename "$m").ko" ;;
    *) cp "$f" "$tmp/mods/$(basename "$m").ko" ;;
  esac
done
[ -z "$extra" ] || cp "$extra" "$tmp/mods/extra.ko"
cp "$here/guest-init.sh" "$tmp/init"
chmod 755 "$tmp/init"
(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
