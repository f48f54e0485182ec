// Reads one ftrace ring buffer (struct trace_buffer) out of the dead kernel: per CPU, the pages in
// reading order (reader page, then head page around the ring to the commit page).
import type { Kernel, KObj } from './kernel.js';
import { markLost, unreadPart } from './page-fix.js';

export interface CpuPages {
  cpu: number;
  /** How many data pages hold events, oldest first. */
  pageCount: number;
  /** Page i (pageSize bytes), read from the dump when asked: big buffers are never held in memory. */
  page(i: number): Buffer;
  /** Kernel virtual addresses of the pages. */
  pageAddrs: bigint[];
  /** Kernel counters: events written in all, overwritten (lost to wrapping), consumed by readers. */
  entries: number;
  overrun: number;
  commitOverrun: number;
  dropped: number;
  read: number;
  nrPages: number;
  /** Pages the dump could not supply (filtered or truncated). */
  missingPages: number;
  problems: string[];
}

export interface RingBuffer {
  addr: bigint;
  pageSize: number;
  cpus: CpuPages[];
}

const FLAG_MASK = 3n; // RB_PAGE_HEAD | RB_PAGE_UPDATE live in the low bits of list pointers

export function readRingBuffer(k: Kernel, bufferAddr: bigint): RingBuffer {
  const tb = k.obj(bufferAddr, 'trace_buffer');
  const hdr = k.btf.field('buffer_data_page', 'data').offset;
  // Sub-buffers can be larger than a page since 6.8 (subbuf_order); before that they are one page.
  const sysPage = k.info.pageSize ?? 4096;
  const pageSize = k.btf.hasField('trace_buffer', 'subbuf_order') ? sysPage << tb.int('subbuf_order')
    : k.btf.hasField('trace_buffer', 'subbuf_size') ? tb.int('subbuf_size') + hdr
      : sysPage;
  const percpu = tb.ptr('buffers');
  // The per-CPU pointer array has nr_cpu_ids slots; older kernels also keep the count in ->cpus.
  const possible = k.perCpuOffsets().length;
  const nCpus = k.btf.hasField('trace_buffer', 'cpus') ? Math.min(tb.int('cpus'), possible) : possible;
  const cpus: CpuPages[] = [];
  for (let cpu = 0; cpu < nCpus; cpu++) {
    const cb = k.mem.u64(percpu + BigInt(cpu * 8));
    if (cb === 0n) continue;
    cpus.push(readCpu(k, k.obj(cb, 'ring_buffer_per_cpu'), cpu, pageSize));
  }
  return { addr: bufferAddr, pageSize, cpus };
}

function readCpu(k: Kernel, cb: KObj, cpu: number, pageSize: number): CpuPages {
  const listOff = BigInt(k.btf.field('buffer_page', 'list').offset);
  const changed = new Map<number, Buffer>();
  const res: CpuPages = {
    cpu, pageCount: 0, pageAddrs: [],
    page: (i) => changed.get(i) ?? k.mem.read(res.pageAddrs[i], pageSize),
    entries: Number(cb.num('entries')), overrun: Number(cb.num('overrun')),
    commitOverrun: Number(cb.num('commit_overrun')), dropped: Number(cb.num('dropped_events')),
    read: Number(cb.num('read')), nrPages: Number(cb.num('nr_pages')), missingPages: 0,
    problems: [],
  };
  const commitPage = cb.ptr('commit_page');
  const readerPage = cb.ptr('reader_page');
  const addPage = (bpAddr: bigint, whole: boolean): void => {
    const bp = k.obj(bpAddr, 'buffer_page');
    const data = bp.ptr('page');
    const page = k.mem.tryRead(data, pageSize);
    if (!page) { res.missingPages++; return; }
    const commit = page.readUInt32LE(8) & 0xfffff;
    if (commit === 0) return;
    if (!whole) {
      // The reader page may be half consumed: keep only what a reader had not taken yet.
      const read = bp.int('read');
      const keep = unreadPart(page, pageSize, read);
      if (!keep) return;
      if (read > 0) changed.set(res.pageCount, keep);
    }
    res.pageAddrs.push(data);
    res.pageCount++;
  };
  if (readerPage) addPage(readerPage, false);

  // Walk the ring once from the pages pointer; the head is the page that a flagged pointer names.
  const start = cb.ptr('pages') & ~FLAG_MASK;
  const ring: bigint[] = [];
  let head: bigint | undefined;
  let p = start;
  // nr_pages comes from the dump: bound the walk by the pages the dump can hold too, and stop at a
  // link back into the walk that misses the start (a damaged ring would otherwise go round forever).
  const limit = Math.min(res.nrPages, Math.floor(k.mem.phys.maxAddress / pageSize)) + 2;
  const seen = new Set<bigint>();
  for (let i = 0; i < limit; i++) {
    seen.add(p);
    const next = k.mem.u64(p);
    const target = next & ~FLAG_MASK;
    ring.push(p - listOff);
    if (next & FLAG_MASK && head === undefined) head = target - listOff;
    p = target;
    if (p === start || seen.has(p)) break;
  }
  if (p !== start) res.problems.push(`cpu${cpu}: page ring does not close after ${ring.length} pages`);
  if (head === undefined) {
    head = cb.ptr('head_page');
    res.problems.push(`cpu${cpu}: no flagged head page, used head_page`);
  }
  const at = ring.indexOf(head);
  if (at < 0) { res.problems.push(`cpu${cpu}: head page not on the ring`); return res; }
  for (let n = 0; n < ring.length; n++) {
    const bp = ring[(at + n) % ring.length];
    if (bp === readerPage) continue;
    addPage(bp, true);
    if (bp === commitPage) break;
  }
  // Events overwritten by the wrap were lost just before the oldest page left.
  if (res.overrun > 0 && res.pageCount) changed.set(0, markLost(res.page(0), pageSize, res.overrun));
  return res;
}
