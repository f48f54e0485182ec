/** A trace for the benchmarks, recorded by lkst from this kernel while dd copies `storm` single bytes (no benchmark of its own). */
import { join } from 'node:path';
import { record } from '../src/record/recorder.js';
import { writeTraceDat } from '../src/file/writer.js';

export async function makeTrace(dir: string, storm: number, events: readonly string[], name = 'bench.dat'): Promise<string> {
  const path = join(dir, name);
  const refs = events.map((e) => {
    const [system, event] = e.split(':') as [string, string];
    return { system, event };
  });
  const res = await record({ events: refs, workDir: dir, command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${storm}`, 'status=none'], bufferKbPerCpu: 65536 });
  try {
    await writeTraceDat(path, res.meta, res.cpus);
  } finally {
    res.discard();
  }
  return path;
}
