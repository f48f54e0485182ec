// --kernel: a vmlinux (ELF) or vmlinuz (bzImage) of the crashed kernel, for BTF and symbols.
import { execFileSync } from 'node:child_process';
import { LkstError } from '../base/errors.js';
import { readRegularFile } from '../base/input-file.js';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { dumpError } from './errors.js';
import type { KSym } from './kallsyms.js';
import { isLz4Legacy, lz4LegacyDecompress } from './lz4.js';

export interface KernelImage {
  /** Raw .BTF section, when the image has one. */
  btf?: Buffer;
  /** Link-time symbols from .symtab (vmlinux only; a vmlinuz is stripped). */
  symbols: KSym[];
}

export function loadKernelImage(path: string): KernelImage {
  let file: Buffer;
  try {
    file = readRegularFile(path, 'the vmlinux or vmlinuz of the crashed kernel');
  } catch (e) {
    if (e instanceof LkstError) throw e;
    throw dumpError(`cannot read kernel image ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the --kernel path');
  }
  const elf = file.readUInt32BE(0) === 0x7f454c46 ? file : vmlinuzPayload(file, path);
  return parseVmlinux(elf, path);
}

function vmlinuzPayload(b: Buffer, path: string): Buffer {
  if (b.length < 0x250 || b.toString('latin1', 0x202, 0x206) !== 'HdrS') {
    throw dumpError(`${path} is neither a vmlinux nor a bzImage vmlinuz`, 'give the crashed kernel\'s vmlinux or vmlinuz');
  }
  const setupSects = b[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + b.readUInt32LE(0x248);
  const payload = b.subarray(start, start + b.readUInt32LE(0x24c));
  if (payload[0] === 0x1f && payload[1] === 0x8b) return gunzipSync(payload);
  if (payload.readUInt32LE(0) === 0xfd2fb528) {
    // The zstd tool is 20x faster than the JavaScript decoder, which stays as the fallback.
    try {
      return execFileSync('zstd', ['-dcq'], { input: payload, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'ignore'] });
    } catch (e) {
      // The kernel build appends the uncompressed size (4 bytes) after the compressed stream.
      if ((e as { stdout?: Buffer }).stdout?.length) return (e as { stdout: Buffer }).stdout;
      return Buffer.from(zstdDecompress(payload.subarray(0, payload.length - 4)));
    }
  }
  if (isLz4Legacy(payload)) return lz4LegacyDecompress(payload);
  if (payload.toString('latin1', 1, 6) === '7zXZ\0') {
    try {
      return execFileSync('xz', ['-dc', '--single-stream'], { input: payload, maxBuffer: 1 << 30 });
    } catch {
      throw dumpError(`${path} is XZ-compressed and the xz tool is not available`, 'install xz-utils, or give the vmlinux');
    }
  }
  throw dumpError(`${path}: unknown vmlinuz compression`, 'give the vmlinux (from the kernel\'s -dbg package) instead');
}

function parseVmlinux(b: Buffer, path: string): KernelImage {
  if (b[4] !== 2 || b.readUInt16LE(18) !== 62) throw dumpError(`${path} is not an x86_64 kernel`, 'give the x86_64 kernel that crashed');
  const shoff = Number(b.readBigUInt64LE(40));
  const shentsize = b.readUInt16LE(58);
  const shnum = b.readUInt16LE(60);
  const shstrndx = b.readUInt16LE(62);
  const sec = (i: number) => {
    const o = shoff + i * shentsize;
    return { name: b.readUInt32LE(o), type: b.readUInt32LE(o + 4), off: Number(b.readBigUInt64LE(o + 24)), size: Number(b.readBigUInt64LE(o + 32)), link: b.readUInt32LE(o + 40) };
  };
  if (shoff === 0 || shoff + shnum * shentsize > b.length) throw dumpError(`${path} has no section headers`, 'give an unstripped vmlinux');
  const names = sec(shstrndx);
  const nameOf = (n: number) => { const s = names.off + n; return b.toString('latin1', s, b.indexOf(0, s)); };
  const out: KernelImage = { symbols: [] };
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    const name = nameOf(s.name);
    if (name === '.BTF') out.btf = b.subarray(s.off, s.off + s.size);
    if (s.type === 2 /* SHT_SYMTAB */) {
      const str = sec(s.link);
      for (let o = s.off; o + 24 <= s.off + s.size; o += 24) {
        const n = b.readUInt32LE(o);
        const info = b[o + 4];
        const value = b.readBigUInt64LE(o + 8);
        if (!n || value === 0n) continue;
        const nm = b.toString('latin1', str.off + n, b.indexOf(0, str.off + n));
        const bind = info >> 4, type = info & 15;
        const c = type === 2 ? 't' : type === 1 ? 'd' : type === 0 ? 'a' : '';
        if (!c) continue;
        out.symbols.push({ addr: value, type: bind === 0 ? c : c.toUpperCase(), name: nm });
      }
    }
  }
  return out;
}
