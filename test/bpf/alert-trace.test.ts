// Alerts stored in the trace: each alert `lkst watch` prints is an lkst/alert event of the
// recording's buffer `alerts`, which lkst stats, lkst report and trace-cmd report show.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, lkst } from '../helpers/cli.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';
import { alertRecord, ALERT_FORMAT } from '../../src/bpf/alert-trace.js';
import { parseFormat } from '../../src/events/format.js';
import { readFields } from '../../src/ringbuf/fields.js';

const ALERTS = 5;
/** A write size nobody else uses, so the alert condition holds only for this test's dd. */
const SIZE = 7331;

test('an lkst/alert record decodes with its own format: the unit and the three strings', () => {
  const rec = alertRecord(3, 'timer-uaf', { event: 'timer:timer_start', ts: 1n, cpu: 1, pid: 4242, fields: { timer: '0x10', object: '0xffff' } });
  const f = parseFormat(ALERT_FORMAT, 'lkst');
  assert.equal(f.id, 65000);
  const v = readFields(rec, 0, rec.length, f);
  assert.equal(v['unit'], 3);
  assert.deepEqual([v['handler'], v['event'], v['fields']], ['timer-uaf', 'timer:timer_start', 'timer=0x10 object=0xffff']);
});

test('5 alerts: 5 lines from lkst watch, 5 lkst/alert events in the trace by lkst stats, lkst report and trace-cmd, none lost', { skip: tracepointBpfSkip() }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-alerttrace-'));
  const env = { ...process.env, LKST_CONFIG_DIR: join(dir, 'etc'), LKST_STATE_DIR: join(dir, 'run') };
  mkdirSync(join(dir, 'etc', 'masksets'), { recursive: true });
  writeFileSync(join(dir, 'etc', 'masksets', 'a.maskset'), `syscalls:sys_enter_write alert if="count == ${SIZE}"\n`);
  const file = join(dir, 't.dat');
  const [go, end] = [join(dir, 'go'), join(dir, 'end')];
  const waitFor = (f: string) => `while [ ! -e ${f} ]; do sleep 0.1; done`;
  const watch = spawn(process.execPath, [CLI, 'watch', '-n', String(ALERTS), '--wait', '300'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  let werr = '';
  watch.stdout!.setEncoding('utf8').on('data', (d: string) => (printed += d));
  watch.stderr!.setEncoding('utf8').on('data', (d: string) => (werr += d));
  const watched = once(watch, 'exit');
  // The command waits for go (the programs attached), writes, then waits for end (the watch has seen every alert).
  const rec = spawn(process.execPath, [CLI, 'record', '-q', '-m', 'a', '-o', file, '--', 'sh', '-c', `${waitFor(go)}; dd if=/dev/zero of=/dev/null bs=${SIZE} count=${ALERTS} 2>/dev/null; ${waitFor(end)}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let rerr = '';
  rec.stderr!.setEncoding('utf8').on('data', (d: string) => (rerr += d));
  const recorded = once(rec, 'exit');
  try {
    const live = join(dir, 'run', 'bpf');
    while (!(existsSync(live) && readdirSync(live).some((d) => existsSync(join(live, d, 'ctl'))))) {
      assert.equal(rec.exitCode, null, rerr);
      await sleep(50);
    }
    writeFileSync(go, '');
    const [wcode] = await watched;
    assert.equal(wcode, 0, werr);
    writeFileSync(end, '');
    const [rcode] = await recorded;
    assert.equal(rcode, 0, rerr);
    const lines = printed.trim().split('\n');
    assert.equal(lines.length, ALERTS, printed);
    for (const l of lines) assert.match(l, new RegExp(` syscalls:sys_enter_write pid=\\d+ __syscall_nr=1 fd=1 buf=\\d+ count=${SIZE}$`));
    // lkst stats: the event type's count and the buffer, its loss exact.
    const st = JSON.parse(lkst(['stats', '--json', file], { env }).stdout) as { byEvent: { event: string; count: number }[]; buffers: { buffer: string; events: number; lost: number; exact: boolean }[] };
    assert.equal(st.byEvent.find((e) => e.event === 'lkst:alert')?.count, ALERTS, JSON.stringify(st.byEvent));
    // The alerts buffer is stamped by bpf_ktime_get_ns (mono), as the recording's instance.
    assert.deepEqual(st.buffers.find((b) => b.buffer === 'alerts'), { buffer: 'alerts', clock: 'mono', clockNote: 'mono (the same clock as top)', events: ALERTS, lost: 0, before: 0, exact: true });
    // lkst report: each alert's line names the handler, the event and its fields as watch printed them.
    const rep = lkst(['report', file], { env, maxBuffer: 1 << 28 });
    assert.equal(rep.status, 0, rep.stderr);
    const reported = rep.stdout.split('\n').filter((l) => /\balert\b/.test(l) && l.includes(`count=${SIZE}`));
    assert.equal(reported.length, ALERTS, rep.stdout.split('\n').filter((l) => l.includes('alert')).join('\n'));
    const tc = spawnSync('trace-cmd', ['report', '-i', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (tc.error) return t.skip(`trace-cmd is not installed: ${tc.error.message}`);
    assert.equal(tc.status, 0, tc.stderr);
    const tcAlerts = tc.stdout.split('\n').filter((l) => l.startsWith('alerts:'));
    assert.equal(tcAlerts.length, ALERTS, tc.stdout.slice(0, 2000));
    for (const [i, l] of tcAlerts.entries()) {
      assert.match(l, new RegExp(` alert: +unit=0 handler=alert event=syscalls:sys_enter_write __syscall_nr=1 fd=1 buf=\\d+ count=${SIZE}$`), l);
      // The same alert as watch printed: the text after the pid.
      assert.ok(l.endsWith(lines[i]!.replace(/^.* pid=\d+ /, '')), `${l}\n${lines[i]}`);
    }
  } finally {
    watch.kill('SIGKILL');
    if (!existsSync(end)) writeFileSync(end, '');
    rec.kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  }
});
