// LZ4 "legacy" frames (the kernel's compressed vmlinuz payload with CONFIG_KERNEL_LZ4).
import { dumpError } from './errors.js';

const LEGACY_MAGIC = 0x184c2102;
const LEGACY_BLOCK = 8 << 20;

export function isLz4Legacy(b: Buffer): boolean {
  return b.length >= 4 && b.readUInt32LE(0) === LEGACY_MAGIC;
}

export function lz4LegacyDecompress(src: Buffer): Buffer {
  const parts: Buffer[] = [];
  let p = 0;
  while (p + 4 <= src.length) {
    if (src.readUInt32LE(p) === LEGACY_MAGIC) { p += 4; continue; }
    if (src.length - p === 4) break; // the kernel appends the uncompressed size
    const n = src.readUInt32LE(p);
    p += 4;
    if (n > src.length - p) throw dumpError('corrupt LZ4 kernel image (block runs past the end)', 'give an intact vmlinuz, or the vmlinux');
    parts.push(lz4Block(src.subarray(p, p + n), LEGACY_BLOCK));
    p += n;
  }
  return Buffer.concat(parts);
}

/** One raw LZ4 block: sequences of literals and back-references. */
export function lz4Block(src: Buffer, maxOut: number): Buffer {
  const out = Buffer.allocUnsafe(maxOut);
  let ip = 0, op = 0;
  const bad = () => dumpError('corrupt LZ4 block in the kernel image', 'give an intact vmlinuz, or the vmlinux');
  while (ip < src.length) {
    const token = src[ip++];
    let lit = token >> 4;
    if (lit === 15) { let b; do { b = src[ip++]; lit += b; } while (b === 255 && ip < src.length); }
    if (ip + lit > src.length || op + lit > maxOut) throw bad();
    src.copy(out, op, ip, ip + lit);
    ip += lit; op += lit;
    if (ip >= src.length) break; // the last sequence has literals only
    const off = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    let len = token & 15;
    if (len === 15) { let b; do { b = src[ip++]; len += b; } while (b === 255 && ip < src.length); }
    len += 4;
    if (off === 0 || off > op || op + len > maxOut) throw bad();
    // Overlapping copies repeat the pattern, so copy byte by byte when they overlap.
    if (off >= len) { out.copy(out, op, op - off, op - off + len); op += len; }
    else for (let i = 0; i < len; i++, op++) out[op] = out[op - off];
  }
  return out.subarray(0, op);
}
