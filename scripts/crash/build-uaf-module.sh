#!/bin/sh
# Builds scripts/crash/uaf/lkst_uaf.ko for one unpacked Debian kernel (see fetch-kernel.sh), from
# Debian's linux-headers/linux-kbuild packages of the same version, unpacked (not installed).
# Usage: build-uaf-module.sh KERNEL_DIR OUT.ko    Exit 3: a package cannot be downloaded.
set -eu
kdir=${1:?usage: build-uaf-module.sh KERNEL_DIR OUT.ko}
out=${2:?usage: build-uaf-module.sh KERNEL_DIR OUT.ko}
here=$(cd "$(dirname "$0")" && pwd)
cache=${LKST_TEST_CACHE:-/var/cache/lkst-test}
kver=$(ls "$kdir/lib/modules" | head -1)                     # 6.1.0-56-cloud-amd64
abi=${kver%-cloud-amd64}                                     # 6.1.0-56
deb=$(ls "$cache"/debs/linux-image-"$kver"*_*.deb | head -1)
version=$(dpkg-deb -f "$deb" Version)                        # 6.1.192-2
series=$(echo "$kver" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')   # 6.1
hdir="$cache/headers/$kver"
if [ ! -f "$hdir/.done" ]; then
  mkdir -p "$hdir" "$cache/debs"
  cd "$cache/debs"
  for p in "linux-headers-$kver" "linux-headers-$abi-common" "linux-kbuild-$series"; do
    ls "${p}_${version}"_*.deb >/dev/null 2>&1 || apt-get download "$p=$version" >/dev/null 2>&1 ||
      { echo "build-uaf-module.sh: cannot download $p=$version" >&2; exit 3; }
    dpkg -x "$(ls "${p}_${version}"_*.deb | head -1)" "$hdir"
  done
  # The headers' Makefiles name /usr/src absolutely: point them at the unpacked tree.
  grep -rl --include=Makefile '/usr/src/' "$hdir/usr/src" | while read -r f; do sed -i "s#/usr/src/#$hdir/usr/src/#g" "$f"; done
  touch "$hdir/.done"
fi
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp "$here/uaf/lkst_uaf.c" "$here/uaf/Kbuild" "$build/"
cc=gcc
command -v gcc-12 >/dev/null 2>&1 && cc=gcc-12
make -s -C "$hdir/usr/src/linux-headers-$kver" M="$build" CC="$cc" modules >"$build/log" 2>&1 ||
  { cat "$build/log" >&2; echo "build-uaf-module.sh: module build failed" >&2; exit 1; }
cp "$build/lkst_uaf.ko" "$out"
