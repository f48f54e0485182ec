import { mkdirSync } from 'node:fs';
import { LkstError, errnoCode } from '../base/errors.js';
import { tracefsAccessError } from './errors.js';
import { requireClock } from './clock.js';
import { TracefsDir, tracefs } from './tracefs.js';
import { forgetOnExit, removeInstanceDir, removeOnExit } from './cleanup.js';

/** Every instance lkst makes is named lkst-*, so lkst never touches another tracer's buffers. */
export const INSTANCE_PREFIX = 'lkst-';

export interface CpuStats {
  entries: number;
  overrun: number;
  commitOverrun: number;
  bytes: number;
  oldestEventTs: number;
  nowTs: number;
  droppedEvents: number;
  readEvents: number;
}

/** per_cpu/cpuN/stats text (as read live, or as a trace file's CPUSTAT keeps it) to numbers; absent lines read 0. */
export function parseCpuStats(text: string): CpuStats {
  const num = (key: string): number => {
    const m = new RegExp(`^${key}:\\s*([\\d.]+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return {
    entries: num('entries'),
    overrun: num('overrun'),
    commitOverrun: num('commit overrun'),
    bytes: num('bytes'),
    oldestEventTs: num('oldest event ts'),
    nowTs: num('now ts'),
    droppedEvents: num('dropped events'),
    readEvents: num('read events'),
  };
}

/** The kernel's per_cpu stats wording of parsed stats (parseCpuStats reads it back). */
export function cpuStatsToText(s: CpuStats): string {
  return (
    `entries: ${s.entries}\noverrun: ${s.overrun}\ncommit overrun: ${s.commitOverrun}\nbytes: ${s.bytes}\n` +
    `oldest event ts: ${s.oldestEventTs}\nnow ts: ${s.nowTs}\ndropped events: ${s.droppedEvents}\nread events: ${s.readEvents}\n`
  );
}

/** A tracefs instance: its own per-CPU ring buffers, event switches, filters and triggers. */
export class Instance extends TracefsDir {
  constructor(readonly name: string, dir: string) {
    super(dir);
  }

  /** Creates instances/NAME; with owned, it is removed when this process exits. */
  static create(name: string, opts: { owned?: boolean } = {}): Instance {
    if (!name.startsWith(INSTANCE_PREFIX)) name = INSTANCE_PREFIX + name;
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new LkstError(`bad buffer name '${name}'`, 'use letters, digits, -, _ and .');
    const top = tracefs();
    if (!top.has('instances')) throw new LkstError('this kernel has no tracefs instances', 'use a kernel of 4.0 or later');
    const inst = new Instance(name, top.path(`instances/${name}`));
    try {
      mkdirSync(inst.dir);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') throw new LkstError(`tracefs instance ${name} already exists`, `pick another name or remove it with \`lkst reset\``);
      throw tracefsAccessError(inst.dir, err, 'create instance');
    }
    if (opts.owned !== false) removeOnExit(inst);
    return inst;
  }

  /** A process-owned instance, unique to this process: lkst-<pid>-<tag>. */
  static createOwned(tag: string): Instance {
    return Instance.create(`${INSTANCE_PREFIX}${process.pid}-${tag}`, { owned: true });
  }

  static open(name: string): Instance {
    if (!name.startsWith(INSTANCE_PREFIX)) name = INSTANCE_PREFIX + name;
    const top = tracefs();
    const inst = new Instance(name, top.path(`instances/${name}`));
    if (!top.has(`instances/${name}`)) throw new LkstError(`no buffer named ${name}`, 'see `lkst buffer list`');
    return inst;
  }

  static exists(name: string): boolean {
    if (!name.startsWith(INSTANCE_PREFIX)) name = INSTANCE_PREFIX + name;
    return tracefs().has(`instances/${name}`);
  }

  /** The names of all lkst instances present in the kernel now. */
  static listNames(): string[] {
    return tracefs()
      .list('instances')
      .filter((n) => n.startsWith(INSTANCE_PREFIX))
      .sort();
  }

  /** Stops recording and removes the instance with its buffers; retries while a reader still closes. */
  remove(): void {
    try {
      removeInstanceDir(this);
    } catch (err) {
      throw tracefsAccessError(this.dir, err, 'remove instance');
    }
    forgetOnExit(this);
  }

  cpus(): number[] {
    return this.list('per_cpu')
      .map((d) => /^cpu(\d+)$/.exec(d)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  rawPipePath(cpu: number): string {
    return this.path(`per_cpu/cpu${cpu}/trace_pipe_raw`);
  }

  eventDir(system: string, event: string): string {
    return `events/${system}/${event}`;
  }

  hasEvent(system: string, event: string): boolean {
    return this.has(`${this.eventDir(system, event)}/enable`);
  }

  setEventEnabled(system: string, event: string, on: boolean): void {
    if (!this.hasEvent(system, event)) throw new LkstError(`this kernel has no event ${system}:${event}`, 'see `lkst events --kernel` for the events it has');
    this.write(`${this.eventDir(system, event)}/enable`, on ? '1' : '0');
  }

  isEventEnabled(system: string, event: string): boolean {
    return this.read(`${this.eventDir(system, event)}/enable`).trim().startsWith('1');
  }

  /** "system:event" of every enabled event, from set_event. */
  enabledEvents(): string[] {
    return this.read('set_event').split('\n').filter(Boolean);
  }

  /** The same, split into system and event. */
  enabledTracepoints(): { system: string; event: string }[] {
    return this.enabledEvents().map((id) => {
      const colon = id.indexOf(':');
      return { system: id.slice(0, colon), event: id.slice(colon + 1) };
    });
  }

  setFilter(system: string, event: string, expr: string | undefined): void {
    this.write(`${this.eventDir(system, event)}/filter`, expr?.trim() ? expr : '0');
  }

  filter(system: string, event: string): string {
    const f = this.read(`${this.eventDir(system, event)}/filter`).trim();
    return f === 'none' ? '' : f;
  }

  addTrigger(system: string, event: string, trigger: string): void {
    if (!this.has(`${this.eventDir(system, event)}/trigger`)) throw new LkstError('this kernel has no event triggers', 'use a kernel built with CONFIG_EVENT_TRACING of 3.14 or later');
    this.write(`${this.eventDir(system, event)}/trigger`, trigger, { append: true });
  }

  removeTrigger(system: string, event: string, trigger: string): void {
    // A trigger with a count shows as "cmd:count=N"; removal takes the command without the count.
    this.write(`${this.eventDir(system, event)}/trigger`, '!' + trigger.replace(/:count=\d+/, '').replace(/:unlimited/, ''), { append: true });
  }

  triggers(system: string, event: string): string[] {
    return this.read(`${this.eventDir(system, event)}/trigger`)
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
  }

  get tracingOn(): boolean {
    return this.read('tracing_on').trim() === '1';
  }

  set tracingOn(on: boolean) {
    this.write('tracing_on', on ? '1' : '0');
  }

  get bufferSizeKb(): number {
    return parseInt(this.read('buffer_size_kb'), 10);
  }

  set bufferSizeKb(kb: number) {
    this.write('buffer_size_kb', String(kb));
  }

  get subbufSizeKb(): number | undefined {
    return this.has('buffer_subbuf_size_kb') ? parseInt(this.read('buffer_subbuf_size_kb'), 10) : undefined;
  }

  set subbufSizeKb(kb: number) {
    if (!this.has('buffer_subbuf_size_kb')) throw new LkstError('this kernel cannot change the sub-buffer size', 'leave the page size at its default');
    try {
      this.write('buffer_subbuf_size_kb', String(kb));
    } catch (err) {
      throw subbufRefusal(err, this.path('buffer_subbuf_size_kb'), this.subbufSizeKb);
    }
  }

  get clock(): string {
    return /\[([^\]]+)\]/.exec(this.read('trace_clock'))?.[1] ?? 'local';
  }

  set clock(name: string) {
    requireClock(name, this.read('trace_clock'));
    this.write('trace_clock', name);
  }

  /** Overwrite mode: a full buffer drops its oldest pages (flight recorder) instead of new events. */
  get overwrite(): boolean {
    return this.read('options/overwrite').trim() === '1';
  }

  set overwrite(on: boolean) {
    this.write('options/overwrite', on ? '1' : '0');
  }

  setEventPids(pids: number[], opts: { follow?: boolean } = {}): void {
    this.write('set_event_pid', pids.length ? pids.join(' ') : ' ');
    if (this.has('options/event-fork')) this.write('options/event-fork', opts.follow ? '1' : '0');
  }

  eventPids(): number[] {
    return this.read('set_event_pid').split(/\s+/).filter(Boolean).map(Number);
  }

  cpuStats(cpu: number): CpuStats {
    return parseCpuStats(this.read(`per_cpu/cpu${cpu}/stats`));
  }

  /** Writes a marker into this instance's buffer (ftrace:print event). */
  mark(text: string): void {
    this.write('trace_marker', text);
  }

  /** Clears the ring buffers. */
  clear(): void {
    this.write('trace', '');
  }
}

/**
 * Root refused a sub-buffer size write (EPERM: some kernels allow it for no one, e.g. under
 * lockdown): no retry as root helps, so say so. Other failures pass through unchanged.
 */
export function subbufRefusal(err: unknown, path: string, currentKb: number | undefined): unknown {
  if (!(err instanceof LkstError) || !/^the kernel refused/.test(err.what)) return err;
  return new LkstError(
    `the kernel refuses adjusting the sub-buffer size here (it refused writes to ${path}, even as root)`,
    `leave --subbuf out; sub-buffers stay ${currentKb ?? 4} KiB (\`lkst features\`)`,
  );
}
