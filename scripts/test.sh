#!/bin/sh
# The whole test suite on the real kernel (needs root). Installs its own dependencies first.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure.sh --test
if [ "$(id -u)" != 0 ]; then echo "lkst tests trace the real kernel: run them as root (sudo npm test)" >&2; exit 1; fi
# The suite must leave the top level (which another tracer may use) as it found it.
top=$(mktemp)
trap 'rm -f "$top"' EXIT
node dist/test/helpers/top-level.js save "$top"
status=0
if [ -n "${LKST_TEST_FILES:-}" ]; then
  node --test --test-concurrency=2 $LKST_TEST_FILES || status=$?
else
  node --test --test-concurrency=2 $(find dist/test -name '*.test.js' | sort) || status=$?
fi
node dist/test/helpers/top-level.js check "$top" || status=1
exit $status
