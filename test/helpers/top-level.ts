/**
 * What the suite must leave as it found it at the tracefs top level (another tracer may be using it):
 * `node dist/test/helpers/top-level.js save FILE` before the suite, `check FILE` after; check prints
 * each difference and exits 1. buffer_size_kb is left out: another tool on the test machine changes it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tracefs } from '../../src/tracefs/tracefs.js';

const FILES = ['tracing_on', 'current_tracer', 'trace_clock', 'set_event', 'set_event_pid', 'set_event_notrace_pid', 'set_ftrace_pid', 'trace_options'];

/** A file's text, or undefined where the kernel refuses the read (set_ftrace_pid without the function tracer). */
function readable(rel: string): string | undefined {
  try {
    return tracefs().has(rel) ? tracefs().read(rel) : undefined;
  } catch {
    return undefined;
  }
}

export function topLevelSnapshot(): Record<string, string> {
  const t = tracefs();
  const out: Record<string, string> = {};
  for (const f of FILES) {
    const text = readable(f);
    if (text !== undefined) out[f] = text;
  }
  try {
    out.kptr_restrict = readFileSync('/proc/sys/kernel/kptr_restrict', 'utf8');
  } catch {
    /* not readable here */
  }
  // Filters and triggers of every top-level event that has one.
  const events = t.path('events');
  for (const system of readdirSync(events, { withFileTypes: true })) {
    if (!system.isDirectory()) continue;
    for (const event of readdirSync(join(events, system.name), { withFileTypes: true })) {
      if (!event.isDirectory()) continue;
      for (const f of ['filter', 'trigger']) {
        const rel = `events/${system.name}/${event.name}/${f}`;
        const text = readable(rel) ?? '';
        if (text.trim() && text.trim() !== 'none' && !text.startsWith('# Available triggers')) out[rel] = text;
      }
    }
  }
  return out;
}

export function differences(before: Record<string, string>, after: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k]).map((k) => `${k}: ${JSON.stringify(before[k] ?? '(none)')} -> ${JSON.stringify(after[k] ?? '(none)')}`);
}

const [cmd, file] = process.argv.slice(2);
if (cmd === 'save' && file) writeFileSync(file, JSON.stringify(topLevelSnapshot()));
else if (cmd === 'check' && file) {
  const diff = differences(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>, topLevelSnapshot());
  if (diff.length) {
    process.stderr.write(`the test suite changed the tracefs top level:\n${diff.map((d) => `  ${d}`).join('\n')}\n`);
    process.exitCode = 1;
  } else process.stderr.write('the tracefs top level is as the suite found it\n');
}
