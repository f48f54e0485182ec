#!/bin/sh
# Downloads and unpacks Debian's generic 6.12 kernel (it has the 9p modules the guest harness needs;
# the cloud kernels scripts/crash/fetch-kernel.sh fetches have none) into the test cache, no install.
# Prints the unpacked directory. Cache: $LKST_TEST_CACHE (default /var/cache/lkst-test).
set -eu
cache=${LKST_TEST_CACHE:-/var/cache/lkst-test}
pkg=$(apt-cache depends linux-image-6.12-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1)
[ -n "$pkg" ] || { echo "fetch-kernel.sh: apt knows no linux-image-6.12-amd64 (run apt-get update)" >&2; exit 3; }
dir="$cache/kernels/$pkg"
if [ ! -f "$dir/.done" ]; then
  mkdir -p "$cache/debs" "$dir"
  cd "$cache/debs"
  deb=$(ls "$pkg"-unsigned_*.deb "$pkg"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ]; then
    apt-get download "$pkg-unsigned" >/dev/null 2>&1 || apt-get download "$pkg" >/dev/null 2>&1 || { echo "fetch-kernel.sh: cannot download $pkg" >&2; exit 3; }
    deb=$(ls "$pkg"-unsigned_*.deb "$pkg"_*.deb 2>/dev/null | head -1)
  fi
  dpkg -x "$deb" "$dir"
  touch "$dir/.done"
fi
echo "$dir"
