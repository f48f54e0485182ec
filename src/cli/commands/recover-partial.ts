// `lkst recover --partial [DIR] [-o FILE]`: the trace of a recording that did not end in order.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { LkstError } from '../../base/errors.js';
import { finishPartial, partialsIn, type PartialJournal } from '../../record/partial.js';
import { writeTraceDat } from '../../file/writer.js';
import { checkOutputPath } from '../../base/output-path.js';
import { withTrace } from '../../analysis/open.js';
import { traceStats } from '../../analysis/stats.js';
import { lossText } from '../../trace/loss.js';
import { grouped } from '../../base/grouped.js';

/** Writes a trace for each interrupted recording in dir; returns the exit code. */
export async function recoverPartialCommand(dir: string, opts: { output?: string }, print: (text: string) => void = (t) => console.log(t)): Promise<number> {
  const where = resolve(dir);
  const journals = partialsIn(where);
  if (!journals.length) throw new LkstError(`no interrupted recording in ${where}`, 'give the directory of the -o file the recording was writing');
  if (opts.output && journals.length > 1) throw new LkstError(`${journals.length} interrupted recordings in ${where} (pids ${journals.map((j) => j.pid).join(', ')})`, 'run without -o: each is written to the file it was recording into');
  for (const j of journals) print(await writePartialTrace(j, opts.output));
  return 0;
}

/** Writes one interrupted recording's trace (to output, or the file it was recording into); returns what to tell the operator. */
export async function writePartialTrace(j: PartialJournal, output?: string): Promise<string> {
  const path = resolve(output ?? freeName(j.output, Date.parse(j.startedAt)));
  checkOutputPath(path);
  const done = finishPartial(j);
  try {
    await writeTraceDat(path, done.meta, done.cpus);
  } catch (err) {
    done.release();
    throw err;
  }
  done.discard();
  // The figures every other command shows for this file (the one loss ledger).
  const s = await withTrace(path, (t) => traceStats(t));
  const lines = [...done.warnings.map((w) => `  note: ${w}`), ...s.lostUncertain.map((u) => `  ${u}`)];
  return [`wrote ${path}: ${grouped(s.events)} events, ${lossText({ lost: s.lostTotal, before: s.lostBefore, exact: s.lostExact })}; ${done.how}`, ...lines].join('\n');
}

/** The file the recording meant to write, unless a later one was written there since: then a name beside it. */
function freeName(output: string, started: number): string {
  try {
    if (statSync(output).mtimeMs < started) return output;
  } catch {
    return output;
  }
  const dot = output.endsWith('.dat') ? output.slice(0, -4) : output;
  return `${dot}.interrupted-${new Date(started).toISOString().replace(/[:.]/g, '-')}.dat`;
}
