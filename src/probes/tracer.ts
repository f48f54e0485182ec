/**
 * `function:GLOB` / `function_graph:GLOB`: the function tracer of the recording's own instance,
 * limited to the functions set_ftrace_filter matches. Not dynamic events: the instance's tracer
 * goes when the instance does, so nothing outlives lkst but a killed recorder's instance, which
 * `lkst reset` removes.
 */
import { readFileSync } from 'node:fs';
import { errnoCode, LkstError } from '../base/errors.js';
import type { TracefsDir } from '../tracefs/tracefs.js';
import type { ProbeSpec } from './spec.js';

/**
 * The instance's function tracer on the functions the specs' globs match. Before the recorder opens
 * the instance's pipes (the kernel refuses a tracer change while they are open: EBUSY), so before
 * whose calls it records is known: until scopeFunctionTracer, only a pid no task has.
 */
export function startFunctionTracer(inst: TracefsDir, specs: readonly ProbeSpec[]): void {
  const kinds = [...new Set(specs.map((s) => s.kind))];
  if (kinds.length > 1) throw new LkstError('function: and function_graph: in one recording', 'an instance runs one tracer: pick one of them');
  const tracer = kinds[0]!;
  const have = inst.has('available_tracers') ? inst.read('available_tracers').split(/\s+/) : [];
  if (!have.includes(tracer)) throw new LkstError(`this kernel has no ${tracer} tracer`, `use a kernel built with CONFIG_${tracer === 'function' ? 'FUNCTION_TRACER' : 'FUNCTION_GRAPH_TRACER'}=y, or kprobes`);
  const refusal = (err: unknown) => {
    const why = err instanceof LkstError ? (/\((E[A-Z]+)/.exec(err.what)?.[1] ?? err.what) : (errnoCode(err) ?? String(err));
    return new LkstError(`this kernel refuses the ${tracer} tracer in an instance (${why}, even as root)`, 'use kprobes or tracepoints here, or a kernel that allows it');
  };
  specs.forEach((s, i) => {
    try {
      inst.write('set_ftrace_filter', s.target, { append: i > 0 });
    } catch (err) {
      if (!(err instanceof LkstError)) throw err;
      // EINVAL: the glob matched nothing; EPERM: the kernel refuses the function tracer itself.
      if (/\(E(PERM|ACCES)/.test(err.what)) throw refusal(err);
      throw new LkstError(`no function the ${tracer} tracer can hook matches '${s.target}'`, `list them with: lkst probe list kernel '${s.target}'`);
    }
  });
  // pid_max - 1: a valid pid no task has in practice.
  const nobody = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) - 1;
  if (inst.has('set_ftrace_pid')) inst.write('set_ftrace_pid', String(nobody));
  try {
    inst.write('current_tracer', tracer);
  } catch (err) {
    throw refusal(err);
  }
}

/** Whose calls the tracer records: the recording's pids (and children with follow), else all but lkst's. */
export function scopeFunctionTracer(inst: TracefsDir, scope?: { pids: readonly number[]; follow: boolean }): void {
  if (!inst.has('set_ftrace_pid')) return;
  if (inst.has('options/function-fork')) inst.write('options/function-fork', scope?.follow ? '1' : '0');
  // Without append the write replaces the list (O_TRUNC clears it).
  inst.write('set_ftrace_pid', scope ? scope.pids.join(' ') : '');
  if (!scope && inst.has('set_ftrace_notrace_pid')) inst.write('set_ftrace_notrace_pid', String(process.pid));
}
