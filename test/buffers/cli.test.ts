import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBuffer } from '../../src/buffers/buffer.js';
import { sleep, withBufferNames } from './helpers.js';
import { CLI as LKST } from '../helpers/cli.js';


function lkst(args: string[], env: NodeJS.ProcessEnv): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [LKST, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('lkst buffer create/list/switch/dump and lkst logd with SIGHUP, --rotate and SIGTERM', async () => {
  await withBufferNames(['cli-a', 'cli-b'], async (a, b) => {
    const dir = mkdtempSync(join(tmpdir(), 'lkst-bufcli-'));
    const env = { LKST_STATE_DIR: join(dir, 'state') };
    try {
      assert.equal(lkst(['buffer', 'create', a, '--size', '256', '--stop-when-full'], env).code, 0);
      assert.equal(lkst(['buffer', 'create', b, '--size', '256', '--overwrite'], env).code, 0);
      const bad = lkst(['buffer', 'create', 'c', '--overwrite', '--stop-when-full'], env);
      assert.equal(bad.code, 1);
      assert.match(bad.err, /^lkst: --overwrite and --stop-when-full exclude each other: give one of them\n$/);
      const ia = openBuffer(a);
      ia.setEventEnabled('sched', 'sched_process_fork', true);
      ia.tracingOn = true;
      // --from: other tests may have buffers recording at the same time.
      const sw = lkst(['buffer', 'switch', b, '--from', a], env);
      assert.equal(sw.code, 0, sw.err);
      assert.match(sw.out, new RegExp(`switched ${a} -> ${b}: 1 events recorded`));
      const list = JSON.parse(lkst(['buffer', 'list', '--json'], env).out) as { name: string; recording: boolean; overwrite: boolean; events: string[] }[];
      const la = list.find((x) => x.name === a)!;
      const lb = list.find((x) => x.name === b)!;
      assert.deepEqual([la.recording, la.overwrite, lb.recording, lb.overwrite], [false, false, true, true]);
      assert.deepEqual(lb.events, ['sched:sched_process_fork']);
      spawnSync('/bin/true');
      const out = join(dir, 'b.dat');
      const dump = lkst(['buffer', 'dump', b, '-o', out, '--no-kallsyms'], env);
      assert.equal(dump.code, 0, dump.err);
      assert.match(dump.out, /still recording/);
      assert.match(execFileSync('trace-cmd', ['report', '-i', out], { encoding: 'utf8' }), /sched_process_fork:/);

      // The daemon: a file on SIGHUP, one on --rotate, the last one on SIGTERM.
      const logs = join(dir, 'logs');
      execFileSync('mkdir', [logs]);
      const d = spawn(process.execPath, [LKST, 'logd', '-b', b, '-d', logs, '--no-kallsyms', '--poll', '20'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      d.stderr!.on('data', (c) => (err += c));
      const exited = new Promise<number>((r) => d.once('exit', (code) => r(code ?? -1)));
      for (let i = 0; i < 50 && !err.includes('logging'); i++) await sleep(100);
      assert.ok(existsSync(join(env.LKST_STATE_DIR, 'logd.pid')));
      const second = lkst(['logd', '-b', b, '-d', logs], env);
      assert.match(second.err, /lkst logd already runs/);
      spawnSync('/bin/true');
      await sleep(100);
      d.kill('SIGHUP');
      for (let i = 0; i < 50 && !err.includes('wrote'); i++) await sleep(100);
      spawnSync('/bin/true');
      await sleep(100);
      assert.match(lkst(['logd', '--rotate'], env).out, /asked lkst logd \(pid \d+\) to rotate/);
      for (let i = 0; i < 50 && (err.match(/wrote/g) ?? []).length < 2; i++) await sleep(100);
      d.kill('SIGTERM');
      assert.equal(await exited, 0, err);
      assert.match(err, /files written/);
      const files = readdirSync(logs);
      assert.ok(files.length >= 2, files.join(' '));
      for (const f of files) assert.match(execFileSync('trace-cmd', ['report', '-i', join(logs, f)], { encoding: 'utf8' }), /sched_process_fork:/);
      assert.ok(!existsSync(join(env.LKST_STATE_DIR, 'logd.pid')), 'the pid file is removed at exit');
      assert.match(lkst(['logd', '--rotate'], env).err, /no lkst logd is running/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('lkst buffer switch --on EVENT --if EXPR arms a one-shot switch inside the kernel; --disarm removes it', async () => {
  await withBufferNames(['arm-a', 'arm-b'], async (a, b) => {
    const env = { LKST_STATE_DIR: mkdtempSync(join(tmpdir(), 'lkst-bufcli-')) };
    try {
      assert.equal(lkst(['buffer', 'create', a], env).code, 0);
      assert.equal(lkst(['buffer', 'create', b], env).code, 0);
      const ia = openBuffer(a);
      const ib = openBuffer(b);
      ia.setEventEnabled('sched', 'sched_process_fork', true);
      ia.tracingOn = true;
      const arm = lkst(['buffer', 'switch', b, '--from', a, '--on', 'task:task_rename', '--if', 'newcomm == "lkst-cli-inc"'], env);
      assert.equal(arm.code, 0, arm.err);
      assert.match(arm.out, /^armed: when task:task_rename fires/);
      assert.ok(ia.tracingOn && !ib.tracingOn, 'nothing switched yet');
      spawnSync('sh', ['-c', 'printf lkst-cli-inc > /proc/$$/comm']);
      await sleep(50);
      assert.ok(!ia.tracingOn && ib.tracingOn, 'the event switched the buffers');
      const disarm = lkst(['buffer', 'switch', b, '--from', a, '--on', 'task:task_rename', '--disarm'], env);
      assert.equal(disarm.code, 0, disarm.err);
      assert.deepEqual([...ia.triggers('task', 'task_rename'), ...ib.triggers('task', 'task_rename')], []);
      assert.match(lkst(['buffer', 'switch', b, '--from', a, '--if', 'x == 1'], env).err, /--if and --disarm go with --on/);
      // start/stop: a buffer recording alongside another, with the other's events.
      const stop = lkst(['buffer', 'stop', b], env);
      assert.equal(stop.code, 0, stop.err);
      assert.equal(ib.tracingOn, false);
      const start = lkst(['buffer', 'start', a, '--copy-from', b], env);
      assert.equal(start.code, 0, start.err);
      assert.match(start.out, /records 1 events/);
      assert.ok(ia.tracingOn && ia.isEventEnabled('sched', 'sched_process_fork'));
    } finally {
      rmSync(env.LKST_STATE_DIR, { recursive: true, force: true });
    }
  });
});
