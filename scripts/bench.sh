#!/bin/sh
# npm run bench: builds, installs what the benchmarks drive, then runs every compiled benchmark
# (dist/bench/*.js) in turn. Needs root (they trace the real kernel).
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure.sh --test
if [ "$(id -u)" != 0 ]; then echo "lkst benchmarks trace the real kernel: run them as root (sudo npm run bench)" >&2; exit 1; fi
status=0
for b in dist/bench/*.js; do
  [ -e "$b" ] || continue
  echo "== $b" >&2
  node --enable-source-maps "$b" || status=1
done
exit $status
