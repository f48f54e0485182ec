/**
 * CSV: one row per event (ts in ns, cpu, buffer, pid, comm, event, fields as JSON), streamed; each
 * loss is a row of event `lost` with {"count":N} (null: flagged without a count), as the loss ledger places it.
 */
import type { TraceInput } from '../analysis/input.js';
import { Pass } from '../analysis/pass.js';
import { csvField } from '../analysis/query/run.js';
import type { FileSink } from './file-sink.js';
import { eventName, fieldsJsonOf } from '../analysis/fields-json.js';

export const CSV_HEADER = 'ts,cpu,buffer,pid,comm,event,fields';

export function exportCsv(input: TraceInput, sink: FileSink): { events: number } {
  const fieldsJson = fieldsJsonOf(input.registry);
  const pass = new Pass(input);
  let events = 0;
  let out = CSV_HEADER + '\n';
  pass.add({
    event: (ev) => {
      const comm = pass.model.commOf(ev.pid);
      // Field JSON always holds quotes: quote it without testing.
      out += `${ev.ts},${ev.cpu},${csvField(ev.buffer)},${ev.pid},${csvField(comm)},${eventName(ev)},"${fieldsJson(ev).replaceAll('"', '""')}"\n`;
      events++;
      if (out.length > 1 << 20) {
        sink.text(out);
        out = '';
      }
    },
  });
  const lostRow = (ts: number, cpu: number, count: number, buffer: string) => `${ts},${cpu},${csvField(buffer)},,,lost,"{""count"":${count < 0 ? 'null' : count}}"\n`;
  pass.add({ lost: (cpu, ts, count, buffer) => (out += lostRow(ts, cpu, count, buffer)) });
  pass.run();
  for (const u of pass.loss.unplaced) out += lostRow(u.ts, u.cpu, u.count, u.buffer);
  sink.text(out);
  return { events };
}
