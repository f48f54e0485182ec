/**
 * Kernel heap objects replayed from kmem events: which objects are allocated, and which address
 * ranges were freed and not handed out again. A traced allocation over a range ends whatever
 * was there before; a free of memory already freed shows it was handed out again unseen (some
 * allocation paths, e.g. bulk ones, emit no event).
 */
import { addrDigits, addrKey, type Addr } from './addr.js';
import { RangeIndex } from './range-index.js';

/**
 * Times and addresses kept as two small integers each: V8 boxes a number field past 2^31 in an
 * object of its own, and a kmem replay keeps an event per allocation and free (a time and a call
 * site each: three objects kept per event, where the scavenges of a cold run cost ~15% of `analyze timers`).
 */
const SPLIT = 0x4000000;

/** An allocation or free, as a finding's evidence shows it. */
export class HeapEvent {
  private readonly tsHi: number;
  private readonly tsLo: number;
  /** -1 when the call site is a bigint, kept whole in siteLo. */
  private readonly siteHi: number;
  private readonly siteLo: number | bigint;

  constructor(
    ts: number,
    readonly cpu: number,
    readonly pid: number,
    /** system:name of the event. */
    readonly event: string,
    callSite: Addr,
  ) {
    this.tsHi = Math.floor(ts / SPLIT);
    this.tsLo = ts - this.tsHi * SPLIT;
    if (typeof callSite === 'number') {
      this.siteHi = Math.floor(callSite / SPLIT);
      this.siteLo = callSite - this.siteHi * SPLIT;
    } else {
      this.siteHi = -1;
      this.siteLo = callSite;
    }
  }

  get ts(): number {
    return this.tsHi * SPLIT + this.tsLo;
  }

  get callSite(): Addr {
    return this.siteHi < 0 ? this.siteLo : this.siteHi * SPLIT + (this.siteLo as number);
  }
}

export interface HeapObject {
  ptr: Addr;
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

const saveEvent = (e: HeapEvent | undefined): SavedEvent | 0 => (e ? [e.ts, e.cpu, e.pid, e.event, addrDigits(e.callSite)] : 0);
const loadEvent = (e: SavedEvent | 0): HeapEvent | undefined => (e ? new HeapEvent(e[0], e[1], e[2], e[3], addrKey(BigInt('0x' + e[4]))) : undefined);

export function saveObject(o: HeapObject): SavedObject {
  return [addrDigits(o.ptr), o.size, o.cache ?? 0, saveEvent(o.alloc), saveEvent(o.free), saveEvent(o.freedAgain)];
}

export function loadObject(s: SavedObject): HeapObject {
  const o: HeapObject = { ptr: addrKey(BigInt('0x' + s[0])), size: s[1] };
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
  /**
   * Live objects by start; a freed one leaves null (a tombstone) until the map is rebuilt: V8's
   * Map.delete on a map of ~18k slab addresses cost ~5 us each here (a 116k-event kmem replay took
   * 220-300 ms with deletes, 8-10 ms with tombstones).
   */
  private live = new Map<Addr, HeapObject | null>();
  private tombstones = 0;
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
    return this.live.size - this.tombstones;
  }

  alloc(ptr: Addr, size: number, ev: HeapEvent, cache?: string): HeapObject {
    if (cache && size) {
      const known = this.cacheSize.get(cache);
      if (known === undefined || size < known) this.cacheSize.set(cache, size);
    }
    // Memory handed out again is no longer "freed".
    for (const o of this.freed.overlapping(ptr, size)) this.dropFreed(o);
    const obj: HeapObject = { ptr, size, cache, alloc: ev };
    if (this.live.get(ptr) === null) this.tombstones--;
    this.live.set(ptr, obj);
    // Objects allocated long ago and never freed in the trace: forget the oldest tenth at once.
    if (this.liveCount > this.maxLive) this.rebuild(this.maxLive / 10);
    return obj;
  }

  /** Records a free; returns the object as it was (size from its allocation or its cache). */
  free(ptr: Addr, ev: HeapEvent, cache?: string): HeapObject {
    let known = this.live.get(ptr) ?? undefined;
    if (known) {
      this.live.set(ptr, null);
      if (++this.tombstones > 65_536 && this.tombstones > this.live.size / 2) this.rebuild(0);
    }
    // A live entry of another cache is stale: its own free was not traced.
    if (known && cache && known.cache && known.cache !== cache) known = undefined;
    const size = known?.size || (cache ? this.cacheSize.get(cache) ?? 0 : 0);
    // The live object becomes the freed one (nothing else holds it): one object less per free.
    let obj: HeapObject;
    if (known) {
      obj = known;
      obj.size = size;
      obj.cache ??= cache;
      obj.free = ev;
    } else obj = { ptr, size, cache, alloc: undefined, free: ev };
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
    return { live: this.liveObjects().map(ref), freed: [...this.freedOrder].map(ref), cacheSize: [...this.cacheSize] };
  }

  load(s: SavedHeap, obj: (n: number) => HeapObject): void {
    this.live.clear();
    this.tombstones = 0;
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
  freedAt(addr: Addr): HeapObject | undefined {
    return this.freed.firstContaining(addr);
  }

  /** The live object that starts at addr (live objects are kept by start only, for speed). */
  liveAt(addr: Addr): HeapObject | undefined {
    return this.live.get(addr) ?? undefined;
  }

  private liveObjects(): HeapObject[] {
    const out: HeapObject[] = [];
    for (const o of this.live.values()) if (o) out.push(o);
    return out;
  }

  /** The map without tombstones and without the `evict` objects allocated earliest. */
  private rebuild(evict: number): void {
    let objs = this.liveObjects();
    if (evict > 0) objs = objs.sort((a, b) => (a.alloc?.ts ?? 0) - (b.alloc?.ts ?? 0)).slice(evict);
    this.live = new Map(objs.map((o) => [o.ptr, o]));
    this.tombstones = 0;
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
