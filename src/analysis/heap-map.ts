/**
 * Kernel heap objects replayed from kmem events: which address ranges are allocated, and which
 * were freed and not handed out again. Ranges are filed under every 4 KiB page they touch, so
 * "what contains this address" is a lookup, not a scan.
 */

export interface HeapEvent {
  ts: number;
  cpu: number;
  pid: number;
  /** system:name of the event. */
  event: string;
  callSite: bigint;
}

export interface HeapObject {
  ptr: bigint;
  /** Bytes, or 0 when the allocation was not seen (only its start is known). */
  size: number;
  /** Slab cache name when known. */
  cache?: string;
  alloc?: HeapEvent;
  free?: HeapEvent;
}

const PAGE_SHIFT = 12n;
/** Ranges larger than this are filed under their first pages only (vmalloc-sized objects are rare here). */
const MAX_PAGES_PER_RANGE = 64;

class PageIndex {
  private readonly pages = new Map<bigint, Set<HeapObject>>();
  count = 0;

  private keys(o: HeapObject): bigint[] {
    const first = o.ptr >> PAGE_SHIFT;
    const last = (o.ptr + BigInt(Math.max(1, o.size)) - 1n) >> PAGE_SHIFT;
    const out: bigint[] = [];
    for (let k = first; k <= last && out.length < MAX_PAGES_PER_RANGE; k++) out.push(k);
    return out;
  }

  add(o: HeapObject): void {
    for (const k of this.keys(o)) {
      let s = this.pages.get(k);
      if (!s) this.pages.set(k, (s = new Set()));
      s.add(o);
    }
    this.count++;
  }

  remove(o: HeapObject): void {
    for (const k of this.keys(o)) {
      const s = this.pages.get(k);
      if (!s) continue;
      s.delete(o);
      if (!s.size) this.pages.delete(k);
    }
    this.count--;
  }

  /** Objects whose range contains addr (an unknown size contains only its start). */
  containing(addr: bigint): HeapObject[] {
    const s = this.pages.get(addr >> PAGE_SHIFT);
    if (!s) return [];
    const out: HeapObject[] = [];
    for (const o of s) if (addr === o.ptr || (addr > o.ptr && addr < o.ptr + BigInt(o.size))) out.push(o);
    return out;
  }

  /** Objects overlapping [ptr, ptr+size). */
  overlapping(ptr: bigint, size: number): HeapObject[] {
    const end = ptr + BigInt(Math.max(1, size));
    const seen = new Set<HeapObject>();
    for (const k of this.keys({ ptr, size })) {
      const s = this.pages.get(k);
      if (!s) continue;
      for (const o of s) if (o.ptr < end && o.ptr + BigInt(Math.max(1, o.size)) > ptr) seen.add(o);
    }
    return [...seen];
  }
}

export class HeapMap {
  private readonly live = new Map<bigint, HeapObject>();
  private readonly freed = new PageIndex();
  /** Freed objects in free order, for evicting the oldest when over the limit. */
  private readonly freedOrder = new Set<HeapObject>();
  /** Object size per slab cache, learned from kmem_cache_alloc (kmem_cache_free names the cache). */
  private readonly cacheSize = new Map<string, number>();

  constructor(private readonly maxFreed = 250_000, private readonly maxLive = 500_000) {}

  get freedCount(): number {
    return this.freed.count;
  }

  get liveCount(): number {
    return this.live.size;
  }

  alloc(ptr: bigint, size: number, ev: HeapEvent, cache?: string): HeapObject {
    if (cache && size) this.cacheSize.set(cache, size);
    // Memory handed out again is no longer "freed".
    for (const o of this.freed.overlapping(ptr, size)) this.dropFreed(o);
    const obj: HeapObject = { ptr, size, cache, alloc: ev };
    this.live.delete(ptr);
    this.live.set(ptr, obj);
    // Objects allocated before a long trace and never freed in it: forget the oldest.
    if (this.live.size > this.maxLive) this.live.delete(this.live.keys().next().value!);
    return obj;
  }

  /** Records a free; returns the object as it was (size from its allocation or its cache). */
  free(ptr: bigint, ev: HeapEvent, cache?: string): HeapObject {
    const known = this.live.get(ptr);
    if (known) this.live.delete(ptr);
    const size = known?.size || (cache ? this.cacheSize.get(cache) ?? 0 : 0);
    const obj: HeapObject = { ptr, size, cache: known?.cache ?? cache, alloc: known?.alloc, free: ev };
    for (const o of this.freed.overlapping(ptr, size)) this.dropFreed(o);
    this.freed.add(obj);
    this.freedOrder.add(obj);
    if (this.freedOrder.size > this.maxFreed) this.dropFreed(this.freedOrder.values().next().value!);
    return obj;
  }

  /** The freed-and-not-reallocated object that contains addr, if any. */
  freedAt(addr: bigint): HeapObject | undefined {
    return this.freed.containing(addr)[0];
  }

  /** The live object that contains addr (exact start only, for speed: live objects are not paged). */
  liveAt(addr: bigint): HeapObject | undefined {
    return this.live.get(addr);
  }

  /** Forget a freed range (the memory was evidently reused without a traced allocation). */
  reused(o: HeapObject): void {
    this.dropFreed(o);
  }

  private dropFreed(o: HeapObject): void {
    if (!this.freedOrder.delete(o)) return;
    this.freed.remove(o);
  }
}
