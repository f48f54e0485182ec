/**
 * Kernel heap objects replayed from kmem events: which objects are allocated, and which address
 * ranges were freed and not handed out again. A traced allocation over a range ends whatever
 * was there before; a free of memory already freed shows it was handed out again unseen (some
 * allocation paths, e.g. bulk ones, emit no event).
 */
import { RangeIndex } from './range-index.js';

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
  /** Freed again with no traced allocation in between: the memory was handed out unseen before then. */
  freedAgain?: HeapEvent;
}

export class HeapMap {
  private readonly live = new Map<bigint, HeapObject>();
  private readonly freed = new RangeIndex<HeapObject>();
  /** Freed objects in free order, for evicting the oldest when over the limit. */
  private readonly freedOrder = new Set<HeapObject>();
  /** Smallest object size seen per slab cache (kmem_cache_free names the cache, not the size). */
  private readonly cacheSize = new Map<string, number>();

  constructor(private readonly maxFreed = 250_000, private readonly maxLive = 500_000) {}

  get freedCount(): number {
    return this.freed.size;
  }

  get liveCount(): number {
    return this.live.size;
  }

  alloc(ptr: bigint, size: number, ev: HeapEvent, cache?: string): HeapObject {
    if (cache && size) {
      const known = this.cacheSize.get(cache);
      if (known === undefined || size < known) this.cacheSize.set(cache, size);
    }
    // Memory handed out again is no longer "freed".
    for (const o of this.freed.overlapping(ptr, size)) this.dropFreed(o);
    const obj: HeapObject = { ptr, size, cache, alloc: ev };
    this.live.delete(ptr);
    this.live.set(ptr, obj);
    // Objects allocated long ago and never freed in the trace: forget the oldest tenth at once
    // (deleting one at a time from the front of a big Map rescans its holes on every call).
    if (this.live.size > this.maxLive) {
      let n = this.maxLive / 10;
      for (const k of this.live.keys()) {
        if (n-- <= 0) break;
        this.live.delete(k);
      }
    }
    return obj;
  }

  /** Records a free; returns the object as it was (size from its allocation or its cache). */
  free(ptr: bigint, ev: HeapEvent, cache?: string): HeapObject {
    let known = this.live.get(ptr);
    if (known) this.live.delete(ptr);
    // A live entry of another cache is stale: its own free was not traced.
    if (known && cache && known.cache && known.cache !== cache) known = undefined;
    const size = known?.size || (cache ? this.cacheSize.get(cache) ?? 0 : 0);
    const obj: HeapObject = { ptr, size, cache: known?.cache ?? cache, alloc: known?.alloc, free: ev };
    for (const o of this.freed.overlapping(ptr, size)) {
      o.freedAgain ??= ev;
      this.dropFreed(o);
    }
    this.freed.add(ptr, size, obj);
    this.freedOrder.add(obj);
    if (this.freedOrder.size > this.maxFreed) {
      let n = this.maxFreed / 10;
      for (const o of this.freedOrder) {
        if (n-- <= 0) break;
        this.dropFreed(o);
      }
    }
    return obj;
  }

  /** The freed-and-not-reallocated object that contains addr, if any. */
  freedAt(addr: bigint): HeapObject | undefined {
    return this.freed.containing(addr)[0];
  }

  /** The live object that starts at addr (live objects are kept by start only, for speed). */
  liveAt(addr: bigint): HeapObject | undefined {
    return this.live.get(addr);
  }

  /** Forget a freed range (the memory was evidently reused without a traced allocation). */
  reused(o: HeapObject): void {
    this.dropFreed(o);
  }

  private dropFreed(o: HeapObject): void {
    if (!this.freedOrder.delete(o)) return;
    this.freed.remove(o.ptr, o.size, o);
  }
}
