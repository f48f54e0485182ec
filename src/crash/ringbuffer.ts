// Reads one ftrace ring buffer (struct trace_buffer) out of the dead kernel: per CPU, the pages in
// reading order (reader page, then head page around the ring to the commit page).
import type { Kernel, KObj } from './kernel.js';
import { type CheckedPage, checkPages, pageFacts, type PageFacts } from './page-check.js';
import { markLost, unreadPart } from './page-fix.js';
import { PageRuns } from './page-runs.js';

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
  /** Pages cut at their last whole record or dropped as damaged. */
  damagedPages: number;
  /**
   * Events the kernel counted that missing or damaged pages took with them (entries - overrun -
   * read less the records kept); undefined when there were such pages and the counters do not say.
   */
  damageLost?: number;
  problems: string[];
  /** What each page holds (records, times, event ids), as the damage checks found it; absent when the pages were not settled. */
  checked?: CheckedPage[];
}

export interface RingBuffer {
  addr: bigint;
  pageSize: number;
  cpus: CpuPages[];
}

const FLAG_MASK = 3n; // RB_PAGE_HEAD | RB_PAGE_UPDATE live in the low bits of list pointers

/** knownIds: the kernel's event ids, when its list could be read; a record of another id is damage. */
export function readRingBuffer(k: Kernel, bufferAddr: bigint, knownIds?: Set<number>): RingBuffer {
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
    cpus.push(readCpu(k, k.obj(cb, 'ring_buffer_per_cpu'), cpu, pageSize, knownIds));
  }
  return { addr: bufferAddr, pageSize, cpus };
}

function readCpu(k: Kernel, cb: KObj, cpu: number, pageSize: number, knownIds?: Set<number>): CpuPages {
  const listOff = BigInt(k.btf.field('buffer_page', 'list').offset);
  const changed = new Map<number, Buffer>();
  /** Where pages the dump lacks were: the index of the next page read. */
  const gaps: number[] = [];
  /** Where pages with no events were: damage only if the kernel's counters miss events. */
  const empties: number[] = [];
  const facts: PageFacts[] = [];
  let runs: PageRuns | undefined;
  const res: CpuPages = {
    cpu, pageCount: 0, pageAddrs: [],
    page: (i) => changed.get(i) ?? runs!.read(res.pageAddrs[i]!),
    entries: Number(cb.num('entries')), overrun: Number(cb.num('overrun')),
    commitOverrun: Number(cb.num('commit_overrun')), dropped: Number(cb.num('dropped_events')),
    read: Number(cb.num('read')), nrPages: Number(cb.num('nr_pages')), missingPages: 0, damagedPages: 0,
    problems: [],
  };
  const commitPage = cb.ptr('commit_page');
  const readerPage = cb.ptr('reader_page');
  /** The pages in reading order (data address; the reader page's read offset), read once all are known. */
  const queued: Array<{ data: bigint; read?: number }> = [];
  const addPage = (bpAddr: bigint, whole: boolean): void => {
    const bp = k.obj(bpAddr, 'buffer_page');
    queued.push({ data: bp.ptr('page'), read: whole ? undefined : bp.int('read') });
  };
  const readPages = (): void => {
    runs = new PageRuns(k.mem, queued.map((q) => q.data), pageSize);
    for (const { data, read } of queued) {
      const page = runs.tryRead(data);
      if (!page) { res.missingPages++; gaps.push(res.pageCount); continue; }
      const commit = page.readUInt32LE(8) & 0xfffff;
      if (commit === 0) {
        // Between the head and the commit page every page holds events: an empty one may be a zeroed page.
        if (read === undefined) empties.push(res.pageCount);
        continue;
      }
      let kept = page;
      if (read !== undefined) {
        // The reader page may be half consumed: keep only what a reader had not taken yet.
        const keep = unreadPart(page, pageSize, read);
        if (!keep) continue;
        if (read > 0) changed.set(res.pageCount, keep);
        kept = keep;
      }
      // Looked at now, while it is in hand: a dump may have to decompress it for every read.
      facts.push(pageFacts(kept, pageSize, knownIds));
      res.pageAddrs.push(data);
      res.pageCount++;
    }
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
  if (at < 0) { res.problems.push(`cpu${cpu}: head page not on the ring`); readPages(); return res; }
  for (let n = 0; n < ring.length; n++) {
    const bp = ring[(at + n) % ring.length];
    if (bp === readerPage) continue;
    addPage(bp, true);
    if (bp === commitPage) break;
  }
  readPages();
  dropDamaged(res, pageSize, changed, { gaps, empties, facts }, knownIds);
  return res;
}

/**
 * Cuts or drops damaged pages and marks each place where events went missing (with damaged or
 * missing pages) as a lost-events mark on the next page: the count when there is one place, a
 * mark without a count when several share the total. Events overwritten by the wrap were lost
 * just before the oldest page left: its mark carries them too.
 */
function dropDamaged(res: CpuPages, pageSize: number, changed: Map<number, Buffer>, seen: { gaps: number[]; empties: number[]; facts: PageFacts[] }, knownIds?: Set<number>): void {
  const { gaps, empties } = seen;
  const read = res.page;
  const check = checkPages(seen.facts, pageSize, read, knownIds);
  const addrs: bigint[] = [];
  const kept = new Map<number, Buffer>();
  const newIndex: number[] = [];
  res.checked = [];
  check.pages.forEach((c, i) => {
    newIndex[i] = addrs.length;
    if (c.keep === 'drop') return;
    res.checked!.push(c);
    if (c.page) kept.set(addrs.length, c.page);
    else if (changed.has(i)) kept.set(addrs.length, changed.get(i)!);
    addrs.push(res.pageAddrs[i]!);
  });
  newIndex[res.pageCount] = addrs.length;
  const at = (next: number) => (newIndex[next]! < addrs.length ? newIndex[next]! : -1);
  const expected = res.entries - res.overrun - res.read;
  const zeroed = expected > check.records ? empties : [];
  const places = [...gaps, ...zeroed].map(at).concat(check.places.map((p) => (p.next < 0 ? -1 : newIndex[p.next]!)));
  res.damagedPages = check.pages.filter((c) => c.damage).length + zeroed.length;
  res.pageAddrs = addrs;
  res.pageCount = addrs.length;
  changed.clear();
  for (const [i, b] of kept) changed.set(i, b);
  if (places.length) {
    const lost = expected - check.records;
    res.damageLost = lost >= 0 ? lost : undefined;
    const first = check.pages.find((c) => c.damage)?.damage ?? (zeroed.length ? 'a page with no events where the ring holds events' : undefined);
    if (res.damagedPages) {
      res.problems.push(`cpu${res.cpu}: ${res.damagedPages} damaged page(s) cut at the last whole record or dropped${first ? ` (${first})` : ''}; ` +
        (res.damageLost === undefined ? `the kernel's counters (${expected} events) do not say how many events they held` : `${res.damageLost} events lost with them and with the pages the dump lacks`));
    }
  }
  const marks = new Map<number, number>();
  const one = places.length === 1 && res.damageLost !== undefined;
  if (res.damageLost !== 0) for (const p of places) if (p >= 0) marks.set(p, one ? res.damageLost! : -1);
  if (res.overrun > 0 && res.pageCount) {
    const m = marks.get(0);
    marks.set(0, m === undefined ? res.overrun : m < 0 ? -1 : m + res.overrun);
  }
  for (const [i, n] of marks) changed.set(i, markLost(res.page(i), pageSize, n));
}
