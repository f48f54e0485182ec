/**
 * Address ranges filed under every 4 KiB page they touch, so "what contains this address" and
 * "what overlaps this range" are a lookup of one or two pages. Positions inside a page are plain
 * numbers relative to it (page numbers and offsets are exact numbers: addr.ts).
 */
import { offsetOf, pageOf, type Addr } from './addr.js';

const PAGE = 4096;
/** Ranges larger than this are filed under their first pages only (vmalloc-sized objects are rare here). */
const MAX_PAGES = 64;

interface Entry<T> {
  /** Start and end (exclusive) relative to the page the entry is filed under. */
  lo: number;
  hi: number;
  item: T;
}

/** The answer when nothing matches, shared (callers only read it): most lookups find nothing. */
const NONE: readonly never[] = Object.freeze([]);

export class RangeIndex<T> {
  /** Emptied pages keep their (empty) list until there are many: Map.delete is slow in V8 on maps of this shape (heap-map.ts). */
  private pages = new Map<number, Entry<T>[]>();
  private emptied = 0;
  size = 0;

  /** Files item under [addr, addr + len) (len 0 counts as 1: only the start is known). */
  add(addr: Addr, len: number, item: T): void {
    const first = pageOf(addr);
    const start = offsetOf(addr);
    const end = start + Math.max(1, len);
    const last = first + Math.min(MAX_PAGES, Math.ceil(end / PAGE)) - 1;
    for (let p = first; p <= last; p++) {
      const base = (p - first) * PAGE;
      const e = { lo: start - base, hi: end - base, item };
      const list = this.pages.get(p);
      if (list) {
        if (list.length === 0) this.emptied--;
        list.push(e);
      } else this.pages.set(p, [e]);
    }
    this.size++;
  }

  remove(addr: Addr, len: number, item: T): void {
    const first = pageOf(addr);
    const end = offsetOf(addr) + Math.max(1, len);
    const last = first + Math.min(MAX_PAGES, Math.ceil(end / PAGE)) - 1;
    let found = false;
    for (let p = first; p <= last; p++) {
      const list = this.pages.get(p);
      if (!list) continue;
      const i = list.findIndex((e) => e.item === item);
      if (i < 0) continue;
      found = true;
      if (i === list.length - 1) list.pop();
      else list.splice(i, 1);
      if (list.length === 0) this.emptied++;
    }
    if (found) this.size--;
    if (this.emptied > 65_536 && this.emptied > this.pages.size / 2) {
      this.pages = new Map([...this.pages].filter(([, l]) => l.length > 0));
      this.emptied = 0;
    }
  }

  /** Items whose range contains addr. */
  containing(addr: Addr): readonly T[] {
    const list = this.pages.get(pageOf(addr));
    if (!list) return NONE;
    const off = offsetOf(addr);
    const out: T[] = [];
    for (const e of list) if (e.lo <= off && off < e.hi) out.push(e.item);
    return out;
  }

  /** The first item filed whose range contains addr (no list made: asked once per timer event). */
  firstContaining(addr: Addr): T | undefined {
    const list = this.pages.get(pageOf(addr));
    if (!list) return undefined;
    const off = offsetOf(addr);
    for (const e of list) if (e.lo <= off && off < e.hi) return e.item;
    return undefined;
  }

  /** Items whose range overlaps [addr, addr + len), each once. */
  overlapping(addr: Addr, len: number): readonly T[] {
    const first = pageOf(addr);
    const start = offsetOf(addr);
    const end = start + Math.max(1, len);
    const last = first + Math.min(MAX_PAGES, Math.ceil(end / PAGE)) - 1;
    let out: T[] | undefined;
    for (let p = first; p <= last; p++) {
      const list = this.pages.get(p);
      if (!list) continue;
      const base = (p - first) * PAGE;
      for (const e of list) {
        if (e.lo < end - base && e.hi > start - base && !out?.includes(e.item)) (out ??= []).push(e.item);
      }
    }
    return out ?? NONE;
  }
}
