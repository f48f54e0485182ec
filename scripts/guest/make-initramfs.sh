#!/bin/sh
# Builds the initramfs of a guest that runs one command on the host's root, shared read-only over 9p.
# Usage: make-initramfs.sh KERNEL_DIR OUT.cpio.gz   (KERNEL_DIR: an unpacked Debian kernel .deb with
# the 9p modules, e.g. linux-image-6.12.*-amd64; the cloud kernels have none). Needs busybox-static,
# cpio, gzip, xz. The guest's /init is init.sh beside this script.
set -eu
kdir=${1:?usage: make-initramfs.sh KERNEL_DIR OUT}
out=${2:?usage: make-initramfs.sh KERNEL_DIR OUT}
here=$(cd "$(dirname "$0")" && pwd)
who=make-initramfs.sh
why=' (a kernel without 9p: use a non-cloud Debian kernel)'
. "$here/../crash/initramfs-lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
initramfs_tree "$tmp" host
# In load order: 9p needs netfs and 9pnet, the virtio transport needs 9pnet.
initramfs_modules "$kdir" "$tmp/mods" fs/netfs/netfs net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p > /dev/null
cp "$here/init.sh" "$tmp/init"
chmod 755 "$tmp/init"
initramfs_pack "$tmp" "$out"
