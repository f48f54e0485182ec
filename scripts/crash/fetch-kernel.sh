#!/bin/sh
# Downloads and unpacks one Debian cloud kernel (no install) into a cache outside the repo.
# Usage: fetch-kernel.sh SERIES   (SERIES: 6.1 or 6.12)   Prints the unpacked directory.
# Cache: $LKST_TEST_CACHE (default /var/cache/lkst-test). Needs apt-get and dpkg.
set -eu
series=${1:?usage: fetch-kernel.sh 6.1|6.12}
cache=${LKST_TEST_CACHE:-/var/cache/lkst-test}
case "$series" in
  6.1) meta=linux-image-cloud-amd64 ;;
  6.12) meta=linux-image-6.12-cloud-amd64 ;;
  *) echo "fetch-kernel.sh: unknown series $series (want 6.1 or 6.12)" >&2; exit 2 ;;
esac
# The meta package names the current ABI; the -unsigned twin has the same files.
pkg=$(apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1)
if [ -z "$pkg" ]; then
  apt-get update -q >/dev/null 2>&1 || true
  pkg=$(apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1)
fi
[ -n "$pkg" ] || { echo "fetch-kernel.sh: apt knows no $meta (run apt-get update)" >&2; exit 3; }
dir="$cache/kernels/$pkg"
if [ ! -f "$dir/.done" ]; then
  mkdir -p "$cache/debs" "$dir"
  cd "$cache/debs"
  deb=$(ls "$pkg"_*.deb "$pkg"-unsigned_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    apt-get download "$pkg-unsigned" >/dev/null 2>&1 || apt-get download "$pkg" >/dev/null 2>&1 ||
      { echo "fetch-kernel.sh: cannot download $pkg" >&2; exit 3; }
    deb=$(ls "$pkg"_*.deb "$pkg"-unsigned_*.deb 2>/dev/null | head -1)
  fi
  dpkg -x "$deb" "$dir"
  touch "$dir/.done"
fi
echo "$dir"
