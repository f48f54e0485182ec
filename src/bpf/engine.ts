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
import { handlerProgram, type CountLayout, type HandlerUnit } from './codegen.js';
import { compileBpf } from './compile.js';
import { withProbe } from './probe-programs.js';
import { detectBpf } from './features.js';
import type { BpfToolchain } from './toolchain.js';
import { decodeCounts, type CountsReport } from './counts.js';
import { liveCountsDir, type LiveTable } from './live-counts.js';
import { bpfTraceBuffer } from './record-stream.js';
import { BpfRun, type BpfRunCpu } from './runner.js';

/**
 * One maskset entry's handler on one tracepoint (masksets/plan.ts's BpfPlanEntry), with the index of
 * its maskset in the recording's table (a switch handler's `to` is an index too).
 */
export interface BpfEntry {
  readonly tp: string;
  readonly handler: 'record' | 'count' | 'switch';
  readonly params: Readonly<Record<string, unknown>>;
  readonly from: string;
  readonly maskset?: number;
}

export interface BpfEngineResult {
  /** The records as the buffer `bpf` (absent when no entry records). */
  buffer?: ExtraBuffer;
  records: number;
  /** Per CPU: records written and records the programs could not reserve (lost, exact). */
  cpus: BpfRunCpu[];
  counts?: CountsReport;
}

/** The units of a plan's BPF entries, with their tracepoints' formats read from the kernel. */
export function handlerUnits(entries: readonly BpfEntry[]): HandlerUnit[] {
  return entries.map((e) => {
    const { system, event } = splitTracepointId(e.tp);
    const base = { format: withProbe(readLiveFormat(system, event), e.from), from: e.from, maskset: e.maskset ?? 0 };
    if (e.handler === 'record') {
      const every = Number(e.params['every'] ?? 0);
      const max = Number(e.params['max'] ?? 0);
      return { ...base, handler: 'record', ...(every ? { every } : {}), ...(max ? { max } : {}) };
    }
    if (e.handler === 'switch') return { ...base, handler: 'switch', to: Number(e.params['to']) };
    const hist = typeof e.params['hist'] === 'string' ? e.params['hist'] : undefined;
    return { ...base, handler: 'count', by: String(e.params['by']).split(','), ...(hist ? { hist } : {}) };
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
    compileBpf(src, join(work, 'handlers.o'), [], tools);
    renameSync(join(work, 'handlers.o'), object);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return object;
}

export class BpfEngine {
  private constructor(
    private readonly run: BpfRun,
    private readonly dir: string,
    private readonly live: string,
    private readonly layouts: CountLayout[],
    private readonly records: boolean,
  ) {}

  /** Generates, compiles and attaches the handlers; resolves once every program is attached. */
  /** masksets: the table's masksets by index (the first is in force at the start). */
  static async start(entries: readonly BpfEntry[], opts: { workDir: string; instance: string; masksets: readonly string[]; skipTgids?: readonly number[] }): Promise<BpfEngine> {
    const program = handlerProgram(handlerUnits(entries));
    const bpf = detectBpf();
    if (bpf.unavailable) throw new LkstError(`${entries[0]?.from}: handlers on BPF cannot run here: ${bpf.unavailable.why}`, bpf.unavailable.fix);
    const object = compiledObject(program.source, bpf.tools);
    const dir = mkdtempSync(join(opts.workDir, '.lkst-bpf-'));
    const live = liveCountsDir(opts.instance);
    rmSync(live, { recursive: true, force: true });
    mkdirSync(live, { recursive: true });
    writeFileSync(join(live, 'layout.json'), JSON.stringify(program.counts));
    writeFileSync(join(live, 'table.json'), JSON.stringify({ masksets: [...opts.masksets] } satisfies LiveTable));
    const run = new BpfRun(object, dir, live, opts.skipTgids);
    const engine = new BpfEngine(run, dir, live, program.counts, entries.some((e) => e.handler === 'record'));
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
    const out: BpfEngineResult = { records: 0, cpus: res.cpus };
    if (this.records) {
      const b = bpfTraceBuffer(res.cpus, (c) => this.run.recordFile(c), this.dir, pageSize);
      out.buffer = b.buffer;
      out.records = b.records;
    }
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
