/**
 * Text fields whose values repeat (task names, slab cache names): the latin1 text of a NUL-ended
 * byte run, the same string as before for the same bytes (a hash of the bytes picks the candidate,
 * a byte-by-byte check confirms it), so a value is decoded once, not once per event.
 */
export class StringInterner {
  private readonly seen = new Map<number, string>();

  /** max: how many distinct values are kept (past it, new ones are decoded each time). */
  constructor(private readonly max: number) {}

  /** b[at, end) up to the first NUL, as latin1 (what cstr gives). */
  get(b: Buffer, at: number, end: number): string {
    let e = at;
    let h = 0x811c9dc5;
    while (e < end && b[e] !== 0) h = Math.imul(h ^ b[e++]!, 0x01000193);
    const key = h ^ (e - at);
    const s = this.seen.get(key);
    if (s !== undefined && s.length === e - at) {
      let i = 0;
      while (i < s.length && s.charCodeAt(i) === b[at + i]) i++;
      if (i === s.length) return s;
    }
    const made = b.toString('latin1', at, e);
    if (this.seen.size < this.max) this.seen.set(key, made);
    return made;
  }
}
