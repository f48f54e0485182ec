/**
 * Captures the unit tier's fixtures from the real kernel into test/fixtures/ (run as root, then
 * commit the result): format files, header_page, the raw pages of each CPU of a tiny buffer that
 * overran (so pages carry the lost-events flag) with the kernel's own text of the same records, a
 * trace.dat lkst wrote from those pages, a trace.dat `trace-cmd extract` wrote from another
 * capture, and `trace-cmd report` of both files as the expected text.
 *
 * trace-cmd runs under scripts/fixtures/tracefs-guard.c, which keeps it from writing anything
 * outside its instance. Both files keep only the kallsyms lines of the symbols their events name
 * (the rest is megabytes); for lkst's file the script checks that trace-cmd prints it the same
 * with the full table.
 *
 * Usage: sudo node dist/scripts/capture-fixtures.js
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectLiveMeta } from '../src/record/live-meta.js';
import { writeTraceDat } from '../src/file/writer.js';
import { Instance } from '../src/tracefs/instance.js';
import { tracefs } from '../src/tracefs/tracefs.js';
import { drainRawPipe } from '../test/helpers/capture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = join(ROOT, 'test', 'fixtures');
const BUFFER_KB = 16;
const MAX_TOTAL = 2 * 1024 * 1024;

/** Events with varied print formats: flags, symbolic tables, %ps/%pS, strings, arrays, markers. */
const EVENTS = [
  'sched:sched_switch', 'sched:sched_waking', 'sched:sched_wakeup', 'sched:sched_wakeup_new', 'sched:sched_process_fork',
  'sched:sched_process_exec', 'sched:sched_process_exit', 'irq:softirq_raise', 'irq:softirq_entry', 'irq:softirq_exit',
  'irq:irq_handler_entry', 'irq:irq_handler_exit', 'timer:timer_start', 'timer:timer_cancel', 'timer:timer_expire_entry',
  'timer:timer_expire_exit', 'timer:hrtimer_start', 'timer:hrtimer_cancel', 'timer:hrtimer_expire_entry', 'timer:hrtimer_expire_exit',
  'raw_syscalls:sys_enter', 'raw_syscalls:sys_exit', 'syscalls:sys_enter_openat', 'syscalls:sys_exit_openat', 'kmem:kmalloc', 'kmem:kfree',
  'kmem:kmem_cache_alloc', 'kmem:kmem_cache_free', 'signal:signal_generate', 'signal:signal_deliver',
  'workqueue:workqueue_queue_work', 'workqueue:workqueue_execute_start',
];

interface Tracepoint {
  system: string;
  event: string;
}

function fail(message: string): never {
  process.stderr.write(`capture-fixtures: ${message}\n`);
  process.exit(1);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Buffer {
  const r = spawnSync(cmd, args, { env, maxBuffer: 1 << 30 });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString() || r.error?.message}`);
  return r.stdout;
}

function present(): Tracepoint[] {
  const top = tracefs();
  const out: Tracepoint[] = [];
  for (const name of EVENTS) {
    const [system, event] = name.split(':') as [string, string];
    if (top.has(`events/${system}/${event}/format`)) out.push({ system, event });
    else process.stderr.write(`capture-fixtures: this kernel has no ${name}; left out\n`);
  }
  return out;
}

/** A burst of syscalls that overruns the tiny buffer, then a varied tail on both CPUs. */
function workload(inst: Instance): void {
  inst.mark('lkst fixtures: start');
  const tail = "for i in 1 2; do sh -c 'cat /proc/self/stat' >/dev/null; sleep 0.005; done; kill -0 $$";
  spawnSync('sh', ['-c', `ls -R /usr/lib >/dev/null 2>&1 & ls -R /usr/lib >/dev/null 2>&1; wait; (${tail}) & (${tail}); wait`]);
  inst.mark('lkst fixtures: end');
}

function traceInstance(tag: string, tps: Tracepoint[], owned: boolean): Instance {
  const inst = owned ? Instance.createOwned(tag) : Instance.create(`lkst-fixtures-${tag}-${process.pid}`, { owned: false });
  inst.bufferSizeKb = BUFFER_KB;
  for (const tp of tps) inst.setEventEnabled(tp.system, tp.event, true);
  inst.tracingOn = true;
  workload(inst);
  inst.tracingOn = false;
  return inst;
}

/**
 * The kallsyms lines of every symbol named in texts (the kernel's own rendering of the records),
 * each with the next symbol by address, which bounds the symbol's size.
 */
function trimKallsyms(full: string, texts: string[]): string {
  const words = new Set(texts.join('\n').match(/[A-Za-z_][\w.$]*/g) ?? []);
  const lines = full
    .split('\n')
    .filter(Boolean)
    .map((l) => ({ l, addr: BigInt(`0x${l.slice(0, l.indexOf(' '))}`), name: l.split(/\s+/)[2] ?? '' }))
    .sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  const keep = new Set<number>();
  lines.forEach((s, i) => {
    if (!words.has(s.name)) return;
    keep.add(i);
    let next = i + 1;
    while (next < lines.length && lines[next]!.addr === s.addr) next++;
    if (next < lines.length) keep.add(next);
  });
  return `${[...keep].sort((a, b) => a - b).map((i) => lines[i]!.l).join('\n')}\n`;
}

function saveKernelFiles(tps: Tracepoint[]): void {
  const top = tracefs();
  const dir = join(OUT, 'kernel');
  writeFileSync(join(dir, 'header_page'), top.read('events/header_page'));
  writeFileSync(join(dir, 'header_event'), top.read('events/header_event'));
  for (const tp of [...tps, { system: 'ftrace', event: 'print' }]) {
    mkdirSync(join(dir, 'formats', tp.system), { recursive: true });
    writeFileSync(join(dir, 'formats', tp.system, tp.event), top.read(`events/${tp.system}/${tp.event}/format`));
  }
  writeFileSync(join(dir, 'uname'), `${run('uname', ['-srvm']).toString().trim()}\n`);
}

/** Pages of every CPU, the kernel's text of them, and lkst's trace.dat of the same pages. */
async function capturePages(tps: Tracepoint[], tmp: string): Promise<void> {
  const inst = traceInstance('fixtures-a', tps, true);
  try {
    const pageSize = (inst.subbufSizeKb ?? 4) * 1024;
    const cpus = inst.cpus();
    const texts = cpus.map((c) => inst.read(`per_cpu/cpu${c}/trace`));
    const pages = cpus.map((c) => ({ cpu: c, source: drainRawPipe(inst.rawPipePath(c), pageSize) }));
    const meta = collectLiveMeta(inst, tps, pageSize);
    const dir = join(OUT, 'pages');
    mkdirSync(dir, { recursive: true });
    cpus.forEach((c, i) => {
      writeFileSync(join(dir, `cpu${c}.raw`), pages[i]!.source);
      writeFileSync(join(dir, `cpu${c}.trace`), texts[i]!);
      writeFileSync(join(dir, `cpu${c}.stats`), meta.cpuStats?.[c] ?? '');
    });
    writeFileSync(join(dir, 'capture.json'), `${JSON.stringify({ pageSize, cpus, bufferKb: BUFFER_KB, events: tps.map((t) => `${t.system}:${t.event}`) }, null, 2)}\n`);
    const trimmed = { ...meta, kallsyms: trimKallsyms(meta.kallsyms, texts), hostname: 'fixtures' };
    writeFileSync(join(dir, 'kallsyms'), trimmed.kallsyms);
    writeFileSync(join(dir, 'saved_cmdlines'), meta.cmdlines);
    const full = join(tmp, 'full.dat');
    const path = join(OUT, 'lkst.dat');
    await writeTraceDat(full, meta, pages);
    await writeTraceDat(path, trimmed, pages);
    const report = run('trace-cmd', ['report', path]);
    if (!report.equals(run('trace-cmd', ['report', full]))) fail('trace-cmd prints lkst.dat differently with the trimmed kallsyms: keep more symbols');
    writeFileSync(join(OUT, 'lkst.report.txt'), report);
  } finally {
    inst.remove();
  }
}

/** A trace.dat that `trace-cmd extract` writes, confined to its instance by the guard. */
function captureTraceCmd(tps: Tracepoint[], tmp: string): void {
  const guard = join(tmp, 'tracefs-guard.so');
  run('cc', ['-O2', '-shared', '-fPIC', '-o', guard, join(ROOT, 'scripts', 'fixtures', 'tracefs-guard.c'), '-ldl']);
  const inst = traceInstance('b', tps, false);
  try {
    const kallsyms = join(tmp, 'kallsyms');
    writeFileSync(kallsyms, trimKallsyms(readFileSync('/proc/kallsyms', 'utf8'), [inst.read('trace')]));
    const log = join(tmp, 'guard.log');
    const path = join(OUT, 'trace-cmd.dat');
    const env = { ...process.env, LD_PRELOAD: guard, LKST_GUARD_INSTANCE: inst.name, LKST_GUARD_KALLSYMS: kallsyms, LKST_GUARD_LOG: log };
    run('trace-cmd', ['extract', '-B', inst.name, '-o', path], env);
    const refused = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0;
    process.stderr.write(`capture-fixtures: the guard kept trace-cmd from ${refused} writes outside its instance\n`);
    writeFileSync(join(OUT, 'trace-cmd.report.txt'), run('trace-cmd', ['report', path]));
  } finally {
    if (Instance.exists(inst.name)) inst.remove();
  }
}

function totalSize(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? totalSize(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) fail('it traces the real kernel: run it as root');
  const tps = present();
  for (const d of ['kernel', 'pages']) rmSync(join(OUT, d), { recursive: true, force: true });
  mkdirSync(join(OUT, 'kernel'), { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'lkst-fixtures-'));
  try {
    saveKernelFiles(tps);
    await capturePages(tps, tmp);
    captureTraceCmd(tps, tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const total = totalSize(OUT);
  process.stderr.write(`capture-fixtures: ${OUT} holds ${(total / 1024).toFixed(0)} KiB\n`);
  if (total > MAX_TOTAL) fail(`the fixtures exceed ${MAX_TOTAL / 1024 / 1024} MiB: trace fewer events or a smaller buffer`);
}

await main();
