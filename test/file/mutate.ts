/** A seeded mutator of real trace files for the fuzz test: every case replays from its seed. */

/** A small seeded generator, so a failing case can be replayed from its seed. */
export function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
  };
}

/** Most structure sits in the first 64 KiB and the last 4 KiB; half the mutations aim there. */
function position(r: (n: number) => number, len: number): number {
  if (r(2) === 0) return r(len);
  return r(3) === 0 ? Math.max(0, len - 1 - r(4096)) : r(Math.min(len, 65536));
}

/** A mutated copy of orig (at least 8 bytes long). */
export function mutate(orig: Buffer, r: (n: number) => number): { bytes: Buffer; how: string } {
  const b = Buffer.from(orig);
  switch (r(7)) {
    case 0: {
      const n = 1 + r(8);
      for (let i = 0; i < n; i++) b[position(r, b.length)] = r(256);
      return { bytes: b, how: `flip ${n} bytes` };
    }
    case 1: {
      // A size or offset word set to an extreme.
      const at = position(r, Math.max(0, b.length - 8));
      const v = [0xffffffff, 0x7fffffff, 0, 1, 0x80000000][r(5)]!;
      b.writeUInt32LE(v, at);
      return { bytes: b, how: `u32 ${v} at ${at}` };
    }
    case 2: {
      const cut = position(r, b.length);
      return { bytes: b.subarray(0, cut), how: `truncate at ${cut}` };
    }
    case 3: {
      // Splice: a piece of the file copied over another place.
      const from = r(b.length);
      const to = position(r, b.length);
      const n = 1 + r(512);
      orig.copy(b, to, from, Math.min(from + n, orig.length));
      return { bytes: b, how: `splice ${n} bytes from ${from} to ${to}` };
    }
    case 5: {
      // A large-record header (type_len 0) with an extreme length word, at a 4-byte boundary, as
      // record headers are: the shape of the length that once wrapped negative and looped.
      // Repeated over a few words, so that a record boundary in reach reads it.
      const v = [0x80000000, 0xfffffffc, 0xfffffff9, 0xffffffff, 0x80000004, 2][r(6)]!;
      // At most as many as fit: the crash-dump fuzz mutates windows as small as one pointer.
      const words = Math.min(1 + r(16), Math.max(1, b.length >> 3));
      const at = position(r, b.length - 8 * words) & ~3;
      for (let i = 0; i < words; i++) {
        b.writeUInt32LE((r(1 << 27) << 5) >>> 0, at + 8 * i);
        b.writeUInt32LE(v, at + 8 * i + 4);
      }
      return { bytes: b, how: `${words} large-record headers of length word ${v} at ${at}` };
    }
    case 4: {
      // One flipped bit: the damage a bad sector or a bit error leaves.
      const at = position(r, b.length);
      const bit = r(8);
      b[at]! ^= 1 << bit;
      return { bytes: b, how: `bit ${bit} of byte ${at}` };
    }
    default: {
      // Bytes removed or inserted: everything after shifts.
      const at = position(r, b.length);
      const n = 1 + r(64);
      const shifted = r(2) === 0 ? Buffer.concat([b.subarray(0, at), b.subarray(at + n)]) : Buffer.concat([b.subarray(0, at), orig.subarray(r(orig.length)).subarray(0, n), b.subarray(at)]);
      return { bytes: shifted, how: `shift ${n} at ${at}` };
    }
  }
}
