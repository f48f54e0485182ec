#!/bin/sh
# Installs what lkst (and, with --test, its tests) needs on a fresh machine, then builds.
# Idempotent and quiet when nothing is missing, so the quick-start commands can call it every time.
set -eu
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
if [ "${1:-}" = "--test" ]; then
  need=""
  for pkg in $(grep -v '^#' scripts/apt-test-packages.txt); do
    dpkg -s "$pkg" >/dev/null 2>&1 || need="$need $pkg"
  done
  if [ -n "$need" ]; then
    echo "installing Debian packages for the tests:$need" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q $need >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $need >&2; }
  fi
fi
# Rebuild when any source is newer than the last build.
stamp=dist/.built
if [ ! -f "$stamp" ] || [ -n "$(find src test bench scripts tsconfig.json package.json -newer "$stamp" -type f 2>/dev/null | head -1)" ]; then
  npx tsc -p tsconfig.json >&2
  # Drop outputs whose source was deleted, so no stale test runs.
  find dist -name '*.js' | while read -r js; do
    ts=${js#dist/}; ts=${ts%.js}.ts
    [ -f "$ts" ] || rm -f "$js" "$js.map"
  done
  touch "$stamp"
fi
