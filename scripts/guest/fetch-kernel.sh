#!/bin/sh
# Downloads and unpacks a Debian generic kernel (it has the 9p modules the guest harness needs; the
# cloud kernels scripts/crash/fetch-kernel.sh fetches have none) into the test cache, no install.
# Prints the unpacked directory. Cache: $LKST_TEST_CACHE (default /var/cache/lkst-test).
#   fetch-kernel.sh            Debian 12's 6.12, through the machine's apt sources
#   fetch-kernel.sh backports  the newest of trixie-backports (7.x), through a private apt list in
#                              the cache: the machine's sources stay as they are
# Exit 3 with one line when the kernel cannot be had (tests skip saying why).
set -eu
cache=${LKST_TEST_CACHE:-/var/cache/lkst-test}
which=${1:-6.12}
me=fetch-kernel.sh
apt=""
case "$which" in
  6.12) meta=linux-image-6.12-amd64 ;;
  backports)
    meta=linux-image-amd64
    a="$cache/apt-backports"
    mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
    printf 'deb http://deb.debian.org/debian trixie-backports main\n' > "$a/sources.list"
    apt="-o Dir::Etc::sourcelist=$a/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$a/lists -o Dir::Cache=$a/cache"
    # The list once a day: the newest kernel changes, the cached one stays usable offline.
    if [ -z "$(find "$a/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null)" ]; then
      # shellcheck disable=SC2086
      apt-get $apt update >/dev/null 2>&1 || [ -n "$(ls "$a/lists" | grep Packages)" ] || { echo "$me: cannot read trixie-backports' package list (no network?)" >&2; exit 3; }
    fi ;;
  *) echo "$me: unknown kernel '$which' (6.12 or backports)" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086
pkg=$(apt-cache $apt depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1)
[ -n "$pkg" ] || { echo "$me: apt knows no $meta (run apt-get update)" >&2; exit 3; }
dir="$cache/kernels/$pkg"
if [ ! -f "$dir/.done" ]; then
  # Debian's newer kernel packages (7.x in trixie-backports) split the image into linux-binary-*
  # (vmlinuz) and linux-modules-*; older ones are one linux-image-* (-unsigned preferred).
  ver=${pkg#linux-image-}
  # shellcheck disable=SC2086
  if apt-cache $apt show "linux-binary-$ver" >/dev/null 2>&1; then parts="linux-binary-$ver linux-modules-$ver"
  else parts="$pkg-unsigned|$pkg"; fi
  mkdir -p "$cache/debs" "$dir"
  cd "$cache/debs"
  debs=""
  for part in $parts; do
    deb=""
    for p in $(echo "$part" | tr '|' ' '); do
      deb=$(ls "$p"_*.deb 2>/dev/null | head -1 || true)
      # shellcheck disable=SC2086
      [ -n "$deb" ] || { apt-get $apt download "$p" >/dev/null 2>&1 && deb=$(ls "$p"_*.deb 2>/dev/null | head -1); } || true
      [ -n "$deb" ] && break
    done
    [ -n "$deb" ] || { echo "$me: cannot download $part" >&2; exit 3; }
    debs="$debs $deb"
  done
  for deb in $debs; do dpkg -x "$deb" "$dir"; done
  touch "$dir/.done"
fi
echo "$dir"
