# Sourced by the initramfs builders (scripts/crash/make-initramfs.sh, make-kdump-initramfs.sh,
# scripts/guest/make-initramfs.sh): the busybox root and the kernel modules they all put in it.
# The caller sets $who (its name, for messages).

# initramfs_tree DIR [SUBDIR...]: busybox-static as DIR/bin/busybox, the mount points, DIR/mods.
initramfs_tree() {
  [ -x /bin/busybox ] || { echo "$who: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 3; }
  t=$1
  shift
  for d in bin proc sys dev mods "$@"; do mkdir -p "$t/$d"; done
  cp /bin/busybox "$t/bin/busybox"
}

# initramfs_modules KERNEL_DIR DEST [--skip-missing] PATH...: each module (PATH under the kernel's
# [usr/]lib/modules/*/kernel, no .ko) uncompressed into DEST/NAME.ko (.ko, .ko.xz, .ko.zst), its NAME
# printed. A module the kernel lacks (built in, or not configured) is skipped with --skip-missing,
# else an error naming it, with $why after it when the caller set it.
initramfs_modules() {
  # usr-merged packages (Debian 13's kernels) put them under usr/lib/modules.
  mods=$(ls -d "$1"/lib/modules/* "$1"/usr/lib/modules/* 2>/dev/null | head -1)
  kd=$1 dest=$2
  shift 2
  skip=0
  [ "${1:-}" = --skip-missing ] && { skip=1; shift; }
  for m in "$@"; do
    f=$(ls "$mods/kernel/$m".ko* 2>/dev/null | head -1)
    if [ -z "$f" ]; then
      [ "$skip" = 1 ] && continue
      echo "$who: $kd has no $m module${why:-}" >&2
      exit 3
    fi
    n=$(basename "$m")
    case "$f" in
      *.xz) xz -dc "$f" > "$dest/$n.ko" ;;
      *.zst) zstd -qdc "$f" > "$dest/$n.ko" ;;
      *) cp "$f" "$dest/$n.ko" ;;
    esac
    echo "$n"
  done
}

# initramfs_pack DIR OUT: DIR as a gzip'd newc cpio archive.
initramfs_pack() {
  (cd "$1" && find . | cpio -o -H newc --quiet | gzip -1) > "$2"
}
