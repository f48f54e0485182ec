/**
 * Chrome's JSON trace format (chrome://tracing, Perfetto's legacy importer): a "CPUs" process
 * with one thread per CPU holding running and interrupt slices, one process per task holding its
 * running and system-call slices, and every event as an instant with its fields as args.
 */
import type { TraceInput } from '../analysis/input.js';
import { Pass } from '../analysis/pass.js';
import type { FileSink } from './file-sink.js';
import { eventName, fieldsJsonOf } from '../analysis/fields-json.js';

/** The pseudo-process holding the CPU rows (real tasks have pid > 0). */
export const CPU_PROCESS = 0;

const us = (ns: number) => (ns / 1000).toFixed(3);

export function exportChromeJson(input: TraceInput, sink: FileSink): { events: number; slices: number } {
  const fieldsJson = fieldsJsonOf(input.registry);
  const pass = new Pass(input);
  const { model } = pass;
  let out = '{"displayTimeUnit":"ns","traceEvents":[\n';
  let first = true;
  let events = 0;
  let slices = 0;
  const put = (json: string) => {
    out += (first ? '' : ',\n') + json;
    first = false;
    if (out.length > 1 << 20) {
      sink.text(out);
      out = '';
    }
  };
  const slice = (pid: number, tid: number, name: string, start: number, end: number, cat: string) => {
    put(`{"ph":"X","cat":"${cat}","name":${JSON.stringify(name)},"pid":${pid},"tid":${tid},"ts":${us(start)},"dur":${us(Math.max(0, end - start))}}`);
    slices++;
  };
  const onCpu = new Map<number, { pid: number; since: number }>();
  const seen = new Set<number>();
  model.subscribe({
    switch: (ts, cpu, prev) => {
      const cur = onCpu.get(cpu);
      if (cur && cur.pid === prev.pid && prev.pid > 0) {
        slice(CPU_PROCESS, cpu, `${prev.comm}:${prev.pid}`, cur.since, ts, 'sched');
        slice(prev.pid, prev.pid, `running (CPU ${cpu})`, cur.since, ts, 'sched');
      }
    },
    irq: (ts, cpu, kind, name, _dur, start) => slice(CPU_PROCESS, cpu, name, start, ts, kind),
    // A system call spans sleeps, so it cannot nest in running slices: an async slice of its own.
    syscall: (ts, task, _nr, name, dur) => {
      const head = `"cat":"syscall","name":${JSON.stringify(name)},"id":${task.pid},"pid":${task.pid},"tid":${task.pid}`;
      put(`{"ph":"b",${head},"ts":${us(ts - dur)}}`);
      put(`{"ph":"e",${head},"ts":${us(ts)}}`);
      slices++;
    },
  });
  pass.add({
    event: (ev) => {
      // After the model has applied the record: track what now runs on the CPU.
      const c = model.cpus.get(ev.cpu);
      if (c && c.since === ev.ts) onCpu.set(ev.cpu, { pid: c.pid, since: c.since });
      const pid = Math.max(0, ev.pid);
      seen.add(pid);
      const where = pid > 0 ? `"pid":${pid},"tid":${pid}` : `"pid":${CPU_PROCESS},"tid":${ev.cpu}`;
      put(`{"ph":"i","s":"t","cat":"${ev.fmt?.system ?? 'unknown'}","name":"${eventName(ev)}",${where},"ts":${us(ev.ts)},"args":${fieldsJson(ev)}}`);
      events++;
    },
    lost: (cpu, ts, count) => put(`{"ph":"i","s":"t","cat":"lost","name":"lost events${count > 0 ? ` (${count})` : ''}","pid":${CPU_PROCESS},"tid":${cpu},"ts":${us(ts)}}`),
  });
  pass.run();
  for (const [cpu, cur] of onCpu) {
    const t = model.tasks.get(cur.pid);
    if (cur.pid > 0 && t) slice(CPU_PROCESS, cpu, `${t.comm}:${cur.pid}`, cur.since, pass.last, 'sched');
  }
  put(`{"ph":"M","name":"process_name","pid":${CPU_PROCESS},"args":{"name":"CPUs"}}`);
  for (const cpu of model.cpus.keys()) put(`{"ph":"M","name":"thread_name","pid":${CPU_PROCESS},"tid":${cpu},"args":{"name":"CPU ${cpu}"}}`);
  for (const t of model.tasks.values()) seen.add(t.pid);
  for (const pid of seen) {
    if (pid <= 0) continue;
    const comm = model.commOf(pid);
    put(`{"ph":"M","name":"process_name","pid":${pid},"args":{"name":${JSON.stringify(`${comm} ${pid}`)}}}`);
    put(`{"ph":"M","name":"thread_name","pid":${pid},"tid":${pid},"args":{"name":${JSON.stringify(comm)}}}`);
  }
  out += '\n]}\n';
  sink.text(out);
  return { events, slices };
}
