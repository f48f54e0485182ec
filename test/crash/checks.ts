// Assertions shared by the crash end-to-end tests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { decodeEvents, formatMap } from '../../src/crash/events.js';
import type { PhysMemory } from '../../src/crash/physmem.js';
import type { CpuSummary, Recovery } from '../../src/crash/recover.js';
import type { CrashedGuest } from './guest.js';

/** The trace_marker strings of one recovered buffer. */
export function markers(rec: Recovery, buffer: string): string[] {
  const b = rec.buffers.find((x) => x.name === buffer);
  assert.ok(b, `buffer ${buffer} recovered`);
  const fm = formatMap(rec.formats);
  return [...decodeEvents(b.cpus, b.meta.pageSize, fm)].filter((e) => e.event === 'ftrace:print').map((e) => String(e.fields.buf).trim());
}

/** Decoded events per CPU must be exactly what the guest's per_cpu stats said just before the crash. */
export function assertCountsMatchGuest(rec: Recovery, g: CrashedGuest): void {
  assert.ok(g.stats.size > 0, 'the guest printed its stats');
  for (const [name, cpus] of g.stats) {
    const b = rec.summary.buffers.find((x) => x.name === name);
    assert.ok(b, `buffer ${name} in the summary`);
    for (const [cpu, st] of cpus) {
      const c: CpuSummary | undefined = b.cpus.find((x) => x.cpu === cpu);
      assert.equal(c?.events ?? 0, st.entries, `${name} cpu${cpu} events`);
      assert.equal(c?.overrun ?? 0, st.overrun, `${name} cpu${cpu} overrun`);
    }
  }
}

export function assertNonces(rec: Recovery, g: CrashedGuest): void {
  assert.ok(markers(rec, 'top').includes(`lkst-nonce=${g.nonce}`), 'top-level nonce');
  assert.ok(markers(rec, 'lkst').includes(`lkst-inst-nonce=${g.nonce}`), 'instance nonce');
}

/** The dump with some 4 KiB pages missing, as makedumpfile filtering would leave it. */
export function hidePages(mem: PhysMemory, hidden: (pfn: number) => boolean): PhysMemory {
  return {
    format: mem.format, vmcoreinfo: mem.vmcoreinfo, maxAddress: mem.maxAddress, lastMiss: 'filtered',
    read: (pa, len) => {
      for (let pfn = Math.floor(pa / 4096); pfn <= Math.floor((pa + len - 1) / 4096); pfn++) if (hidden(pfn)) return undefined;
      return mem.read(pa, len);
    },
    ranges: () => mem.ranges(), close: () => undefined,
  };
}

/** PT_LOAD segments of an ELF core as binutils' readelf reads them (an outside reference). */
export function loadSegments(path: string): Array<{ paddr: number; fileSize: number; memSize: number }> {
  const out = execFileSync('readelf', ['-lW', path], { encoding: 'utf8' });
  return [...out.matchAll(/^\s*LOAD\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)/gm)]
    .map((m) => ({ paddr: Number(m[1]), fileSize: Number(m[2]), memSize: Number(m[3]) }));
}
