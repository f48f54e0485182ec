/**
 * The BPF engine of a recording: the handlers of every maskset entry that runs on BPF, generated as
 * one object (codegen.ts), compiled (cached by its source), run by lkst-bpf-run beside the ftrace
 * recording, and at the end turned into the trace's buffer `bpf` (record-stream.ts) and the count
 * tables (counts.ts). While it runs, the count tables are in the state directory for `lkst status`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LkstError } from '../base/errors.js';
import { nativeCacheDir } from '../native/compile.js';
import { splitTracepointId } from '../events/resolve.js';
import { readLiveFormat } from '../events/live.js';
import type { ExtraBuffer } from '../trace/writer-port.js';
import type { BpfOp } from '../handlers/types.js';
import { filterToC } from './expr.js';
import { handlerProgram, type CountLayout, type HandlerProgram, type HandlerUnit } from './codegen.js';
import { compileBpf } from './compile.js';
import { probeOf, withProbe } from './probe-programs.js';
import { detectBpf, programOptions } from './features.js';
import type { BpfToolchain } from './toolchain.js';
import { decodeCounts, type CountsReport } from './counts.js';
import { liveCountsDir, type LiveTable } from './live-counts.js';
import { bpfTraceBuffer, type BufferMisses } from './record-stream.js';
import { alertTraceBuffer } from './alert-trace.js';
import { BpfRun, type BpfRunCpu, type BpfRunResult } from './runner.js';
import { handlerHeaderDir, namedEventFormats, registeredSource, USER_SWITCHES } from './user-handlers.js';
import { VALUE_SYSTEM, valueFormat } from './user-values.js';

/**
 * One maskset entry's handler on one tracepoint (masksets/plan.ts's BpfPlanEntry), with the index of
 * its maskset in the recording's table (a switch handler's `to` is an index too).
 */
export interface BpfEntry {
  readonly tp: string;
  readonly handler: BpfOp['handler'];
  readonly params: Readonly<Record<string, unknown>>;
  readonly from: string;
  readonly maskset?: number;
}

/** One record buffer of the handlers (bpf, or a route's) as a buffer of the trace. */
export interface BpfBufferResult {
  buffer: ExtraBuffer;
  records: number;
  /** Records the programs could not reserve (the ring buffer was full): exact, per CPU in the buffer's CPUSTAT. */
  lost: number;
  /** The recursion guard's misses, counted in this buffer's CPUSTATs (the first record buffer only). */
  missed?: number;
}

export interface BpfEngineResult {
  /** The record buffers (none when no entry records). */
  buffers: BpfBufferResult[];
  /** The buffer `alerts` (lkst/alert events), when a handler raised or lost an alert. */
  alertBuffer?: BpfBufferResult;
  /** Per CPU of the buffer bpf: records written and records the programs could not reserve (lost, exact). */
  cpus: BpfRunCpu[];
  counts?: CountsReport;
  /** Alerts raised, and those lost (the alert ring was full). */
  alerts?: { raised: number; lost: number; unshown: number };
  /** Events the kernel ran no program for (its BPF recursion guard): lost to every handler of that event. */
  missed: EngineMisses;
  /** The formats of the user handlers' value events (system lkst_user), for the trace.dat. */
  formats: { system: string; formats: string[] }[];
}

/**
 * The recursion guard's misses: per program (the kernel's recursion_misses), per CPU where a guard
 * program counted them (codegen.ts `guarded`), and the rest, on no known CPU (tp_btf programs
 * interrupting themselves, events without a guard). The recorder's own events are not counted.
 */
export interface EngineMisses extends BufferMisses {
  total: number;
  programs: BpfRunResult['missed'];
}

export function engineMisses(res: Pick<BpfRunResult, 'missed' | 'guard'>): EngineMisses {
  const programs = res.missed.filter((m) => !m.program.startsWith('lkst_guard_'));
  const all = programs.reduce((n, m) => n + m.count, 0);
  const known = [...res.guard.missed.values()].reduce((n, x) => n + x, 0);
  const unknown = Math.max(0, all - known - res.guard.own);
  return { programs, perCpu: res.guard.missed, unknown, total: known + unknown };
}

/** What a running recording's handlers on BPF hold that commands act on (units.json in its live directory). */
export interface LiveUnits {
  slots: HandlerProgram['slots'];
  alerts: HandlerProgram['alerts'];
  buffers: string[];
  /** User handlers' parameter maps (absent in a recording started by an older lkst). */
  params?: HandlerProgram['params'];
}

/** The C condition of an entry's filter expression, an error naming the entry when it is not a simple form. */
function condition(e: BpfEntry, expr: unknown, format: ReturnType<typeof readLiveFormat>, what: string): string | undefined {
  if (typeof expr !== 'string') return undefined;
  try {
    return filterToC(expr, format, what);
  } catch (err) {
    if (err instanceof LkstError) throw new LkstError(`${e.from}: ${err.what}`, err.fix);
    throw err;
  }
}

/** The units of a plan's BPF entries, with their tracepoints' formats read from the kernel. */
export function handlerUnits(entries: readonly BpfEntry[]): HandlerUnit[] {
  return entries.map((e): HandlerUnit => {
    const { system, event } = splitTracepointId(e.tp);
    const format = withProbe(readLiveFormat(system, event), e.from);
    const base = { format, from: e.from, maskset: e.maskset ?? 0 };
    const p = e.params;
    // A probe's program reads pt_regs, not a tracepoint record: what reads or copies the record is not built for it.
    const onProbe = probeOf(format) !== undefined;
    const unbuilt = e.handler === 'route' || e.handler === 'alert' || e.handler === 'user' ? e.handler : typeof p['expr'] === 'string' ? 'filter' : undefined;
    if (onProbe && unbuilt) throw new LkstError(`${e.from}: ${unbuilt} on a probe is not built on the BPF engine`, `give the probe \`record engine=bpf\`, count, sample or rate, or use ${unbuilt} on the ftrace engine`);
    if (e.handler === 'record' || e.handler === 'route') {
      const every = Number(p['every'] ?? 0);
      const max = Number(p['max'] ?? 0);
      const pids = Array.isArray(p['pids']) ? (p['pids'] as number[]) : undefined;
      const cond = condition(e, p['expr'], format, 'filter');
      return {
        ...base,
        handler: 'record',
        ...(every ? { every } : {}),
        ...(max ? { max } : {}),
        ...(pids ? { pids } : {}),
        ...(p['follow'] === true ? { follow: readLiveFormat('sched', 'sched_process_fork') } : {}),
        ...(cond ? { cond } : {}),
        ...(e.handler === 'route' ? { buffer: String(p['buffer']) } : {}),
      };
    }
    if (e.handler === 'switch') return { ...base, handler: 'switch', to: Number(p['to']) };
    if (e.handler === 'user') {
      const source = registeredSource(String(p['name']));
      const switches = typeof p[USER_SWITCHES] === 'string' ? (JSON.parse(p[USER_SWITCHES]) as Record<string, number>) : undefined;
      return { ...base, handler: 'user', source, params: p, events: namedEventFormats(source), ...(switches ? { switches } : {}) };
    }
    if (e.handler === 'alert') {
      const cond = condition(e, p['if'], format, 'alert if');
      return { ...base, handler: 'alert', ...(cond ? { cond } : {}), ...(typeof p['freeze'] === 'string' ? { freeze: p['freeze'] } : {}), ...(p['record'] === true ? { record: true } : {}) };
    }
    const hist = typeof p['hist'] === 'string' ? p['hist'] : undefined;
    return { ...base, handler: 'count', by: String(p['by']).split(','), ...(hist ? { hist } : {}) };
  });
}

/** Compiles a generated source once: the object is kept by the source's hash (a new kernel BTF makes new source ids). */
export function compiledObject(source: string, tools?: BpfToolchain): string {
  const dir = join(nativeCacheDir(), 'bpf', 'objects');
  const object = join(dir, `${createHash('sha256').update(source).digest('hex').slice(0, 20)}.o`);
  if (existsSync(object)) return object;
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, '.build-'));
  try {
    const src = join(work, 'handlers.bpf.c');
    writeFileSync(src, source);
    compileBpf(src, join(work, 'handlers.o'), [handlerHeaderDir()], tools);
    renameSync(join(work, 'handlers.o'), object);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return object;
}

/** Whether some entry makes records in the buffer bpf (a plain record, a user handler, an alert that records there). */
export function recordsIntoBpf(entries: readonly BpfEntry[]): boolean {
  return entries.some((e) => e.handler === 'record' || e.handler === 'user' || (e.handler === 'alert' && e.params['record'] === true && e.params['freeze'] === undefined) || e.params['freeze'] === 'bpf');
}

/** Handlers generated and compiled, and the instance's live directory made (units.json, tables), ready for lkst-bpf-run. */
export function prepareHandlers(entries: readonly BpfEntry[], instance: string, masksets: readonly string[]): { program: HandlerProgram; object: string; live: string; init: string[] } {
  const bpf = detectBpf();
  if (bpf.unavailable) throw new LkstError(`${entries[0]?.from}: handlers on BPF cannot run here: ${bpf.unavailable.why}`, bpf.unavailable.fix);
  const program = handlerProgram(handlerUnits(entries), programOptions(bpf));
  if (program.alerts.length && program.buffers.includes('alerts')) throw new LkstError(`${entries.find((e) => e.params['buffer'] === 'alerts')?.from}: the buffer alerts holds the alerts of the trace`, 'route into a buffer of another name');
  const object = compiledObject(program.source, bpf.tools);
  const live = liveCountsDir(instance);
  rmSync(live, { recursive: true, force: true });
  mkdirSync(live, { recursive: true });
  writeFileSync(join(live, 'layout.json'), JSON.stringify(program.counts));
  writeFileSync(join(live, 'table.json'), JSON.stringify({ masksets: [...masksets] } satisfies LiveTable));
  writeFileSync(join(live, 'units.json'), JSON.stringify({ slots: program.slots, alerts: program.alerts, buffers: program.buffers, params: program.params } satisfies LiveUnits));
  const init = [...program.slots.map((s) => `pids ${s.map} ${s.pids.join(' ')}`), ...program.params.map((p) => `params ${p.map} ${p.values.join(' ')}`)];
  return { program, object, live, init };
}

export class BpfEngine {
  private constructor(
    private readonly run: BpfRun,
    private readonly dir: string,
    private readonly live: string,
    private readonly layouts: CountLayout[],
    private readonly program: HandlerProgram,
    private readonly plainRecords: boolean,
  ) {}

  /** Generates, compiles and attaches the handlers; resolves once every program is attached. */
  /** masksets: the table's masksets by index (the first is in force at the start). */
  static async start(entries: readonly BpfEntry[], opts: { workDir: string; instance: string; masksets: readonly string[]; skipTgids?: readonly number[] }): Promise<BpfEngine> {
    const { program, object, live, init } = prepareHandlers(entries, opts.instance, opts.masksets);
    const dir = mkdtempSync(join(opts.workDir, '.lkst-bpf-'));
    const run = new BpfRun(object, dir, live, opts.skipTgids, init);
    const engine = new BpfEngine(run, dir, live, program.counts, program, recordsIntoBpf(entries));
    try {
      await run.started();
    } catch (err) {
      engine.discard();
      throw err;
    }
    return engine;
  }

  /** Detaches and drains; the records become the buffer `bpf` (page files in the engine's directory until discard). */
  async finish(pageSize: number): Promise<BpfEngineResult> {
    const res = await this.run.finish();
    if (res.malformed) throw new LkstError(`the BPF handlers wrote ${res.malformed} malformed records`, 'report this as a bug of lkst');
    const missed = engineMisses(res);
    const values = this.program.values.map(valueFormat);
    const out: BpfEngineResult = { buffers: [], cpus: res.cpus, missed, formats: values.length ? [{ system: VALUE_SYSTEM, formats: values }] : [] };
    this.program.buffers.forEach((name, i) => {
      if (i === 0 && !this.plainRecords) return;
      const cpus = res.buffers[i] ?? [];
      // The misses are counted once, in the first record buffer (their events are lost to every handler).
      const first = out.buffers.length === 0;
      const b = bpfTraceBuffer(cpus, (c) => this.run.recordFile(c, i), this.dir, pageSize, name, first ? missed : undefined);
      out.buffers.push({ ...b, lost: cpus.reduce((n, c) => n + c.lost, 0), ...(first ? { missed: missed.total } : {}) });
    });
    if (this.program.alerts.length) out.alerts = { raised: res.alerts, lost: res.alertsLost, unshown: res.alertsUnshown };
    // No buffer when nothing alerted: the summary's "BPF alerts: 0" says so.
    if (res.alerts + res.alertsLost > 0) out.alertBuffer = { ...alertTraceBuffer(this.run.alertsFile, this.program.alerts, res.alertCpus, this.dir, pageSize), lost: res.alertsLost };
    if (this.layouts.length) out.counts = decodeCounts(this.layouts, res.counts, res.nokey);
    rmSync(this.live, { recursive: true, force: true });
    return out;
  }

  /** Stops the runner (if it still runs) and removes the engine's files. */
  discard(): void {
    this.run.kill();
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(this.live, { recursive: true, force: true });
  }
}
