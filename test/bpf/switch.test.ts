// The table of handlers on BPF switched in one map write: by a `switch to=M engine=bpf` handler inside
// the kernel, and by `lkst maskset switch` from another shell; the two masksets count different events.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI, lkst } from '../helpers/cli.js';
import { tracepointBpfSkip } from '../helpers/bpf.js';
import type { CountsReport } from '../../src/bpf/counts.js';

const skip = tracepointBpfSkip();
const COPIES = 3000;

// sa counts syscall entries by pid and id, sb exits by pid; syncfs switches from either to the other.
const MASKSETS = {
  sa: 'raw_syscalls:sys_enter count by=pid,id\nsyscalls:sys_enter_syncfs switch to=sb engine=bpf\n',
  sb: 'raw_syscalls:sys_exit count by=pid\nsyscalls:sys_enter_syncfs switch to=sa engine=bpf\n',
};

function setup(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bpfsw-'));
  mkdirSync(join(dir, 'etc', 'masksets'), { recursive: true });
  for (const [name, text] of Object.entries(MASKSETS)) writeFileSync(join(dir, 'etc', 'masksets', `${name}.maskset`), text);
  return { dir, env: { ...process.env, LKST_CONFIG_DIR: join(dir, 'etc'), LKST_STATE_DIR: join(dir, 'run') } };
}

/** A dd of one-byte copies whose pid is written to pidFile (the shell execs it). */
function dd(pidFile: string): string {
  return `sh -c 'echo $$ > ${pidFile}; exec dd if=/dev/zero of=/dev/null bs=1 count=${COPIES} 2>/dev/null'`;
}

/** What each maskset's table counted of a pid: sa its reads (id 0), sb its syscall exits. */
function countsOf(file: string, env: NodeJS.ProcessEnv, pid: number): { sa: number; sb: number } {
  const st = JSON.parse(lkst(['stats', '--json', file], { env }).stdout) as { counts: CountsReport };
  const sa = st.counts.tables.find((t) => t.event === 'raw_syscalls:sys_enter')!;
  const sb = st.counts.tables.find((t) => t.event === 'raw_syscalls:sys_exit')!;
  return {
    sa: sa.rows.find((r) => r.values[0] === String(pid) && r.values[1] === '0')?.count ?? 0,
    sb: sb.rows.find((r) => r.values[0] === String(pid))?.count ?? 0,
  };
}

/** The first dd was counted by sa only, the second (after the switch) by sb only. */
function assertSwitched(file: string, env: NodeJS.ProcessEnv, dir: string): void {
    const one = countsOf(file, env, Number(readFileSync(join(dir, 'one'), 'utf8')));
    const two = countsOf(file, env, Number(readFileSync(join(dir, 'two'), 'utf8')));
    assert.ok(one.sa >= COPIES && one.sb === 0, `before the switch: counted by sa only (${JSON.stringify(one)})`);
    assert.ok(two.sa === 0 && two.sb >= 2 * COPIES, `after the switch: counted by sb only (${JSON.stringify(two)})`);
}

test('a switch handler on BPF switches the whole table inside the kernel: events before count in one maskset, after in the other', { skip }, () => {
  const { dir, env } = setup();
  try {
    const file = join(dir, 't.dat');
    const script = `${dd(join(dir, 'one'))}; sync -f ${dir}; ${dd(join(dir, 'two'))}`;
    const r = lkst(['record', '-q', '-m', 'sa', '-o', file, '--', 'sh', '-c', script], { env, timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assertSwitched(file, env, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lkst maskset switch of a recording whose BPF table holds the maskset: one map write, the handlers change at once', { skip }, async () => {
  const { dir, env } = setup();
  try {
    const file = join(dir, 't.dat');
    const go = join(dir, 'go');
    const script = `${dd(join(dir, 'one'))}; while [ ! -e ${go} ]; do sleep 0.1; done; ${dd(join(dir, 'two'))}`;
    const child = spawn(process.execPath, [CLI, 'record', '-q', '-m', 'sa', '-o', file, '--', 'sh', '-c', script], { env, stdio: 'ignore' });
    const exited = once(child, 'exit');
    let out = '';
    try {
      // The first dd has run once its pid file is there and the shell waits for go (the status shows its count).
      for (let i = 0; i < 100 && !out; i++) {
        await sleep(200);
        const pid = existsSync(join(dir, 'one')) ? readFileSync(join(dir, 'one'), 'utf8').trim() : '';
        const m = pid ? new RegExp(`^ +pid=${pid} id=0  ([\\d,]+)$`, 'm').exec(lkst(['status'], { env }).stdout) : null;
        if (m && Number(m[1]!.replace(/,/g, '')) >= COPIES) out = 'ready';
      }
      const sw = lkst(['maskset', 'switch', 'sb'], { env });
      assert.equal(sw.status, 0, sw.stderr);
      out = sw.stdout;
    } finally {
      writeFileSync(go, '');
    }
    const [code] = await exited;
    assert.equal(code, 0);
    assert.match(out, /switched sa -> sb: .*handlers on BPF: one map write in [\d.]+ us/);
    assertSwitched(file, env, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
