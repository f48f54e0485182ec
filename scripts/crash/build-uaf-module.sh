#!/bin/sh
# Builds scripts/crash/uaf/lkst_uaf.ko for one unpacked Debian kernel (see fetch-kernel.sh and
# scripts/guest/fetch-kernel.sh), any flavour (cloud or generic), from Debian's headers of the same
# version, unpacked (not installed): linux-headers-KVER and the common headers and kbuild packages
# it depends on, as its own Depends name them.
# Usage: build-uaf-module.sh KERNEL_DIR OUT.ko    Exit 3: a package cannot be downloaded.
set -eu
kdir=${1:?usage: build-uaf-module.sh KERNEL_DIR OUT.ko}
out=${2:?usage: build-uaf-module.sh KERNEL_DIR OUT.ko}
here=$(cd "$(dirname "$0")" && pwd)
cache=${LKST_TEST_CACHE:-/var/cache/lkst-test}
kver=$(ls "$kdir/lib/modules" | head -1)                     # 6.1.0-56-cloud-amd64, 6.12.118+deb12-amd64
deb=$(ls "$cache"/debs/linux-image-"$kver"_*.deb "$cache"/debs/linux-image-"$kver"-unsigned_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "build-uaf-module.sh: no linux-image-$kver .deb in $cache/debs (the kernel's own package gives the version)" >&2; exit 3; }
version=$(dpkg-deb -f "$deb" Version)                        # 6.1.192-2, 6.12.118-1~deb12u1
hdir="$cache/headers/$kver"
get() { # package: the .deb of this version in the cache, downloaded if missing
  ls "${1}_${version}"_*.deb 2>/dev/null | head -1 | grep . && return
  apt-get download "$1=$version" >/dev/null 2>&1 || { echo "build-uaf-module.sh: cannot download $1=$version" >&2; exit 3; }
  ls "${1}_${version}"_*.deb | head -1
}
if [ ! -f "$hdir/.done" ]; then
  mkdir -p "$hdir" "$cache/debs"
  cd "$cache/debs"
  main=$(get "linux-headers-$kver")
  # linux-headers-*-common and linux-kbuild-*, named by the headers package (their names differ by series).
  deps=$(dpkg-deb -f "$main" Depends | tr ',|' '\n\n' | sed -n 's/^ *\(linux-headers-[^ ]*-common\|linux-kbuild-[^ ]*\).*/\1/p')
  [ "$(echo "$deps" | wc -w)" = 2 ] || { echo "build-uaf-module.sh: $main depends on no common headers and kbuild packages I know ($deps)" >&2; exit 3; }
  for d in "$main" $(for p in $deps; do get "$p"; done); do dpkg -x "$d" "$hdir"; done
  # The headers' Makefiles name /usr/src absolutely: point them at the unpacked tree.
  grep -rl --include=Makefile '/usr/src/' "$hdir/usr/src" | while read -r f; do sed -i "s#/usr/src/#$hdir/usr/src/#g" "$f"; done
  touch "$hdir/.done"
fi
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp "$here/uaf/lkst_uaf.c" "$here/uaf/Kbuild" "$build/"
cc=gcc
command -v gcc-12 >/dev/null 2>&1 && cc=gcc-12
# No BTF for the module (6.12's headers ship a vmlinux for it, which needs pahole): probes name no BTF here.
make -s -C "$hdir/usr/src/linux-headers-$kver" M="$build" CC="$cc" CONFIG_DEBUG_INFO_BTF_MODULES= modules >"$build/log" 2>&1 ||
  { cat "$build/log" >&2; echo "build-uaf-module.sh: module build failed" >&2; exit 1; }
cp "$build/lkst_uaf.ko" "$out"
