// The course both boot-persistent buffer tests take in a guest (scripts/guest): boot with the
// parameters, run `first` (it ends in a panic; panic=1 reboots the guest with its RAM kept), then
// `second` after the reboot, which copies the recovered file to last.dat in the exchange directory;
// the file and the exchange directory come back.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runInGuest, type GuestResult } from '../../scripts/guest/guest.js';
import { openTraceDat, type TraceFile } from '../../src/file/reader.js';
import { readFields, type FieldValue } from '../../src/ringbuf/fields.js';
import { forEachRecord } from '../../src/ringbuf/page.js';

export interface LastBootRun {
  r: GuestResult;
  /** The recovered file, when the guest left one. */
  file?: TraceFile;
  /** A file the guest left in the exchange directory. */
  shared(name: string): string;
  close(): void;
}

export async function lastBootGuest(o: { first: string; second: string; append: string; kernelDir?: string }): Promise<LastBootRun> {
  const script = `
    S=$LKST_GUEST_SHARED
    if [ ! -e $S/booted ]; then
      touch $S/booted; sync
      ${o.first}
      sync
      echo c > /proc/sysrq-trigger
      sleep 10; exit 12
    fi
    ${o.second}
  `;
  // loglevel=7: the kernel's verdict on each CPU's persistent pages ("Ring buffer meta [N] ...") reaches the console.
  const r = await runInGuest({ script, reboot: true, keep: true, memMiB: 512, timeoutMs: 900_000, append: `panic=1 loglevel=7 ${o.append}`, ...(o.kernelDir ? { kernelDir: o.kernelDir } : {}) });
  // LKST_KEEP_GUEST=1 keeps the exchange directory (console, the guest's files) to look into a failure.
  const cleanup = () => process.env.LKST_KEEP_GUEST || rmSync(r.shared, { recursive: true, force: true });
  if (r.code !== 0) cleanup();
  assert.equal(r.code, 0, `guest command failed (${r.code}): ${r.stderr}\n${r.serial.slice(-3000)}`);
  const file = existsSync(join(r.shared, 'last.dat')) ? openTraceDat(join(r.shared, 'last.dat')) : undefined;
  return {
    r,
    file,
    shared: (name) => readFileSync(join(r.shared, name), 'utf8'),
    close: () => {
      file?.close();
      cleanup();
    },
  };
}

/** Every event of the file's main buffer: CPU, format name and fields. */
export function events(f: TraceFile): Array<{ cpu: number; name: string; fields: Record<string, FieldValue> }> {
  const b = f.buffers[0]!;
  const out: Array<{ cpu: number; name: string; fields: Record<string, FieldValue> }> = [];
  for (const c of b.cpus) {
    for (const chunk of c.chunks()) {
      for (let at = 0; at < chunk.length; at += b.pageSize) {
        forEachRecord(chunk, at, b.pageSize, (_ts, off, len) => {
          const fmt = f.registry.get(chunk.readUInt16LE(off));
          if (fmt) out.push({ cpu: c.cpu, name: fmt.name, fields: readFields(chunk, off, len, fmt) });
        });
      }
    }
  }
  return out;
}
