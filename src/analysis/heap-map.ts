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

/** A heap object as a flat tuple (checkpoints hold hundreds of thousands): addresses in hex. */
export type SavedObject = [ptr: string, size: number, cache: string | 0, alloc: SavedEvent | 0, free: SavedEvent | 0, freedAgain: SavedEvent | 0];
type SavedEvent = [ts: number, cpu: number, pid: number, event: string, callSite: string];

const saveEvent = (e: HeapEvent | undefined): SavedEvent | 0 => (e ? [e.ts, e.cpu, e.pid, e.event, e.callSite.toString(16)] : 0);
const loadEvent = (e: SavedEvent | 0): HeapEvent | undefined => (e ? { ts: e[0], cpu: e[1], pid: e[2], event: e[3], callSite: BigInt('0x' + e[4]) } : undefined);

export function saveObject(o: HeapObject): SavedObject {
  return [o.ptr.toString(16), o.size, o.cache ?? 0, saveEvent(o.alloc), saveEvent(o.free), saveEvent(o.freedAgain)];
}

export function loadObject(s: SavedObject): HeapObject {
  const o: HeapObject = { ptr: BigInt('0x' + s[0]), size: s[1] };
  if (s[2]) o.cache = s[2];
  const alloc = loadEvent(s[3]);
  if (alloc) o.alloc = alloc;
  const free = loadEvent(s[4]);
  if (free) o.free = free;
  const again = loadEvent(s[5]);
  if (again) o.freedAgain = again;
  return o;
}

export interface SavedHeap {
  live: number[];
  freed: number[];
  cacheSize: [string, number][];
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

  /** Live and freed objects by the caller's numbers for them (objects are shared with findings), in the order kept. */
  save(ref: (o: HeapObject) => number): SavedHeap {
    return { live: [...this.live.values()].map(ref), freed: [...this.freedOrder].map(ref), cacheSize: [...this.cacheSize] };
  }

  load(s: SavedHeap, obj: (n: number) => HeapObject): void {
    this.live.clear();
    for (const n of s.live) {
      const o = obj(n);
      this.live.set(o.ptr, o);
    }
    for (const o of [...this.freedOrder]) this.dropFreed(o);
    for (const n of s.freed) {
      const o = obj(n);
      this.freed.add(o.ptr, o.size, o);
      this.freedOrder.add(o);
    }
    this.cacheSize.clear();
    for (const [k, v] of s.cacheSize) this.cacheSize.set(k, v);
  }

  /** The freed-and-not-reallocated object that contains addr, if any. */
  freedAt(addr: bigint): HeapObject | undefined {
    return this.freed.firstContaining(addr);
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
