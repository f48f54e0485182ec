// Lock waits in the state at a moment, from lock:contention_begin/end recorded on this kernel while
// four shells create and remove directories in one parent (they contend for its inode lock).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTrace, type OpenedTrace } from '../../src/analysis/open.js';
import { stateAt } from '../../src/analysis/state.js';
import { forEachEvent } from '../../src/analysis/stream.js';
import { bindFields } from '../../src/analysis/schema.js';
import { lockKind } from '../../src/analysis/sched-model.js';
import { recordTrace, type RecordedTrace } from './record-trace.js';

const WORKLOAD = 'd=$(mktemp -d); for j in 1 2 3 4; do (for i in $(seq 300); do mkdir $d/x$j$i; rmdir $d/x$j$i; done) & done; wait; rm -rf $d';

describe('lock waits', () => {
  let rec: RecordedTrace;
  let trace: OpenedTrace;
  /** Contentions that lasted a while: pid, lock, kind, begin and end times. */
  const waits: { pid: number; addr: string; kind: string; begin: number; end: number }[] = [];

  before(async () => {
    rec = await recordTrace(['sh', '-c', WORKLOAD], ['lock:contention_begin', 'lock:contention_end', 'sched:sched_switch', 'sched:sched_waking']);
    trace = openTrace(rec.path);
    const b = bindFields(trace.registry, 'lock', 'contention_begin', ['lock_addr', 'flags'])!;
    const e = bindFields(trace.registry, 'lock', 'contention_end', ['lock_addr'])!;
    const open = new Map<number, (typeof waits)[number]>();
    forEachEvent(trace, {
      event: (ev) => {
        if (ev.id === b.fmt.id) open.set(ev.pid, { pid: ev.pid, addr: '0x' + ev.big(b.lock_addr).toString(16), kind: lockKind(ev.num(b.flags)), begin: ev.ts, end: -1 });
        else if (ev.id === e.fmt.id) {
          const w = open.get(ev.pid);
          if (w && w.addr === '0x' + ev.big(e.lock_addr).toString(16) && ev.ts > w.begin) waits.push({ ...w, end: ev.ts });
          open.delete(ev.pid);
        }
      },
    });
  });
  after(() => {
    trace?.close();
    rec?.cleanup();
  });

  test('during a contention the task waits for that lock, of that kind; after it, not', (t) => {
    if (!waits.length) return t.skip('no lock contention happened during the workload');
    // The longest wait, and a few others.
    const sample = [...waits].sort((a, b) => b.end - b.begin - (a.end - a.begin)).slice(0, 5);
    for (const w of sample) {
      const during = stateAt(trace, Math.floor((w.begin + w.end) / 2)).tasks.find((x) => x.pid === w.pid);
      assert.deepEqual(during?.waitingForLock, { addr: w.addr, since: w.begin, kind: w.kind });
      const afterEnd = stateAt(trace, w.end).tasks.find((x) => x.pid === w.pid);
      assert.equal(afterEnd?.waitingForLock, undefined);
    }
  });
});
