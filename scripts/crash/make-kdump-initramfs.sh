#!/bin/sh
# Builds the initramfs of a kdump test guest for one unpacked Debian kernel (see fetch-kernel.sh).
# Usage: make-kdump-initramfs.sh KERNEL_DIR OUT.cpio.gz
# Two images: the crash kernel's (make-initramfs.sh's guest plus kdump.sh and the virtio disk
# modules) and, around it, the first kernel's, which adds the kernel, that image and kexec with
# its libraries so /init can run kexec -p. Needs kexec-tools besides make-initramfs.sh's tools.
set -eu
kdir=${1:?usage: make-kdump-initramfs.sh KERNEL_DIR OUT}
out=${2:?usage: make-kdump-initramfs.sh KERNEL_DIR OUT}
here=$(cd "$(dirname "$0")" && pwd)
command -v kexec >/dev/null 2>&1 || { echo "make-kdump-initramfs.sh: kexec missing (apt-get install kexec-tools)" >&2; exit 3; }
who=make-kdump-initramfs.sh
. "$here/initramfs-lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/make-initramfs.sh" "$kdir" "$tmp/base.gz"
mkdir "$tmp/root"
(cd "$tmp/root" && gzip -dc "$tmp/base.gz" | cpio -id --quiet)
cp "$here/kdump.sh" "$tmp/root/kdump.sh"
# The virtio disk the crash kernel writes the vmcore to, in load order; modules built in are simply absent.
initramfs_modules "$kdir" "$tmp/root/mods" --skip-missing drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev \
  drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/block/virtio_blk > "$tmp/root/mods/kdump.order"
initramfs_pack "$tmp/root" "$tmp/crash.gz"
mkdir -p "$tmp/root/boot"
cp "$tmp/crash.gz" "$tmp/root/boot/crash.gz"
cp "$(ls "$kdir"/boot/vmlinuz-* | head -1)" "$tmp/root/boot/vmlinuz"
k=$(command -v kexec)
cp "$k" "$tmp/root/bin/kexec"
ldd "$k" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^\s*\(\/[^ ]*\) .*/\1/p' | while read -r lib; do
  mkdir -p "$tmp/root$(dirname "$lib")"
  cp -L "$lib" "$tmp/root$lib"
done
initramfs_pack "$tmp/root" "$out"
