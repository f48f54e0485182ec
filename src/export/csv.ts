/** CSV: one row per event (ts in ns, cpu, pid, comm, event, fields as JSON), streamed. */
import type { TraceInput } from '../analysis/input.js';
import { Pass } from '../analysis/pass.js';
import { csvField } from '../analysis/query/run.js';
import type { FileSink } from './file-sink.js';
import { eventName, fieldsJsonOf } from '../analysis/fields-json.js';

export const CSV_HEADER = 'ts,cpu,pid,comm,event,fields';

export function exportCsv(input: TraceInput, sink: FileSink): { events: number } {
  const fieldsJson = fieldsJsonOf(input.registry);
  const pass = new Pass(input);
  let events = 0;
  let out = CSV_HEADER + '\n';
  pass.add({
    event: (ev) => {
      const comm = pass.model.commOf(ev.pid);
      // Field JSON always holds quotes: quote it without testing.
      out += `${ev.ts},${ev.cpu},${ev.pid},${csvField(comm)},${eventName(ev)},"${fieldsJson(ev).replaceAll('"', '""')}"\n`;
      events++;
      if (out.length > 1 << 20) {
        sink.text(out);
        out = '';
      }
    },
  });
  pass.run();
  sink.text(out);
  return { events };
}
