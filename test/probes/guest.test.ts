// The guest harness (scripts/guest): a command run in a Debian-kernel QEMU guest on the host's root
// (read-only), its stdout, stderr and exit code returned, files written to the exchange directory
// seen by the host, tracefs mounted. One boot for all of it: a TCG guest takes tens of seconds.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { guestUnavailable, runInGuest } from '../../scripts/guest/guest.js';

test('a command in the guest: its output, exit code and files come back; the host root is read-only', { skip: guestUnavailable() ?? false }, async () => {
  const r = await runInGuest({
    script: 'uname -r; echo to-stderr >&2; touch "$PWD/lkst-guest-probe" 2>/dev/null && echo wrote-host; test -f /sys/kernel/tracing/kprobe_events && echo tracefs; echo from-guest > "$LKST_GUEST_SHARED/out"; exit 3',
    keep: true,
    memMiB: 512,
  }).catch((e) => assert.fail(e));
  try {
    assert.equal(r.code, 3, r.serial.slice(-2000));
    assert.match(r.stdout, /^6\.12\.\S+-amd64$/m, 'the Debian kernel runs it');
    assert.doesNotMatch(r.stdout, /wrote-host/, 'the host root is read-only');
    assert.match(r.stdout, /^tracefs$/m);
    assert.equal(r.stderr, 'to-stderr\n');
    assert.equal(readFileSync(join(r.shared, 'out'), 'utf8'), 'from-guest\n');
  } finally {
    rmSync(r.shared, { recursive: true, force: true });
  }
});
