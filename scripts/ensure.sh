#!/bin/sh
# Installs what lkst (and, with --test, its tests) needs on a fresh machine, then builds.
# Idempotent and quiet when nothing is missing, so the quick-start commands can call it every time.
# Progress goes to stderr (a first run installs and builds for a minute or two).
set -eu
cd "$(dirname "$0")/.."
. scripts/dpkg-lock.sh
say() { echo "lkst: $*" >&2; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing the npm dependencies (npm ci; first run or package-lock.json changed)..."
  npm ci --no-audit --no-fund --loglevel=error >&2
  say "npm dependencies installed"
fi
if [ "${1:-}" = "--test" ]; then
  need=""
  for pkg in $(grep -v '^#' scripts/apt-test-packages.txt); do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
  done
  if [ -n "$need" ]; then
    say "installing Debian packages for the tests:$need..."
    export DEBIAN_FRONTEND=noninteractive
    wait_for_dpkg_lock
    # apt waits on its own too, should another package manager take the lock in between.
    apt="apt-get -o DPkg::Lock::Timeout=${LKST_DPKG_LOCK_WAIT:-600}"
    $apt install -y -q $need >/dev/null 2>&1 || { say "updating the package lists (apt-get update)..." && $apt update -q >/dev/null && $apt install -y -q $need >&2; }
    say "Debian packages installed"
  fi
fi
# Rebuild when any source is newer than the last build.
stamp=dist/.built
if [ ! -f "$stamp" ] || [ -n "$(find src test bench scripts tsconfig.json package.json -newer "$stamp" -type f 2>/dev/null | head -1)" ]; then
  say "building (tsc: sources changed since the last build)..."
  npx tsc -p tsconfig.json >&2
  # Drop outputs whose source was deleted, so no stale test runs.
  find dist -name '*.js' -not -path 'dist/lkst/*' | while read -r js; do
    ts=${js#dist/}; ts=${ts%.js}.ts
    [ -f "$ts" ] || rm -f "$js" "$js.map"
  done
  node dist/scripts/bundle.js >&2
  touch "$stamp"
  say "built"
fi
