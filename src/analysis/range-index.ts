/**
 * Address ranges filed under every 4 KiB page they touch, so "what contains this address" and
 * "what overlaps this range" are a lookup of one or two pages. Positions inside a page are plain
 * numbers relative to it (page numbers and offsets are exact numbers: addr.ts).
 */
import { offsetOf, pageOf, type Addr } from './addr.js';

const PAGE = 4096;
/** Ranges larger than this are filed under their first pages only (vmalloc-sized objects are rare here). */
const MAX_PAGES = 64;

/**
 * A page's entries, flat: start and end (exclusive) relative to the page, then the item, for each
 * (no object per entry: freed heap ranges are kept by the hundred thousand).
 */
type Entries<T> = (number | T)[];

/** The answer when nothing matches, shared (callers only read it): most lookups find nothing. */
const NONE: readonly never[] = Object.freeze([]);

export class RangeIndex<T> {
  /** Emptied pages keep their (empty) list until there are many: Map.delete is slow in V8 on maps of this shape (heap-map.ts). */
  private pages = new Map<number, Entries<T>>();
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
      const list = this.pages.get(p);
      if (list) {
        if (list.length === 0) this.emptied--;
        list.push(start - base, end - base, item);
      } else this.pages.set(p, [start - base, end - base, item]);
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
      let i = 2;
      while (i < list.length && list[i] !== item) i += 3;
      if (i >= list.length) continue;
      found = true;
      if (i === list.length - 1) list.length -= 3;
      else list.splice(i - 2, 3);
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
    for (let i = 0; i < list.length; i += 3) if ((list[i] as number) <= off && off < (list[i + 1] as number)) out.push(list[i + 2] as T);
    return out;
  }

  /** The first item filed whose range contains addr (no list made: asked once per timer event). */
  firstContaining(addr: Addr): T | undefined {
    const list = this.pages.get(pageOf(addr));
    if (!list) return undefined;
    const off = offsetOf(addr);
    for (let i = 0; i < list.length; i += 3) if ((list[i] as number) <= off && off < (list[i + 1] as number)) return list[i + 2] as T;
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
      for (let i = 0; i < list.length; i += 3) {
        const item = list[i + 2] as T;
        if ((list[i] as number) < end - base && (list[i + 1] as number) > start - base && !out?.includes(item)) (out ??= []).push(item);
      }
    }
    return out ?? NONE;
  }
}
