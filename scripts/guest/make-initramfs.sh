#!/bin/sh
# Builds the initramfs of a guest that runs one command on the host's root, shared read-only over 9p.
# Usage: make-initramfs.sh KERNEL_DIR OUT.cpio.gz   (KERNEL_DIR: an unpacked Debian kernel .deb with
# the 9p modules, e.g. linux-image-6.12.*-amd64; the cloud kernels have none). Needs busybox-static,
# cpio, gzip, xz. The guest's /init is init.sh beside this script.
set -eu
kdir=${1:?usage: make-initramfs.sh KERNEL_DIR OUT}
out=${2:?usage: make-initramfs.sh KERNEL_DIR OUT}
here=$(cd "$(dirname "$0")" && pwd)
[ -x /bin/busybox ] || { echo "make-initramfs.sh: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 3; }
mods=$(ls -d "$kdir"/lib/modules/* | head -1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/mods" "$tmp/host"
cp /bin/busybox "$tmp/bin/busybox"
# In load order: 9p needs netfs and 9pnet, the virtio transport needs 9pnet.
for m in fs/netfs/netfs net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p; do
  f=$(ls "$mods/kernel/$m".ko* 2>/dev/null | head -1)
  [ -n "$f" ] || { echo "make-initramfs.sh: $kdir has no $m module (a kernel without 9p: use a non-cloud Debian kernel)" >&2; exit 3; }
  case "$f" in
    *.xz) xz -dc "$f" > "$tmp/mods/$(basename "$m").ko" ;;
    *.zst) zstd -qdc "$f" > "$tmp/mods/$(basename "$m").ko" ;;
    *) cp "$f" "$tmp/mods/$(basename "$m").ko" ;;
  esac
done
cp "$here/init.sh" "$tmp/init"
chmod 755 "$tmp/init"
(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
