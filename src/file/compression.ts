import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import { LkstError } from '../base/errors.js';
import { isUnreadable, unreadablePages } from '../ringbuf/page.js';
import { shownText } from '../base/text.js';

/** One compressed block and the size it must decompress to. */
export interface Block {
  data: Buffer;
  rawSize: number;
}

/**
 * Decompresses blocks of known uncompressed sizes; many() returns them concatenated, written into
 * dst (at its start) when given and the decompressor can: fresh memory for every chunk costs more in
 * page faults than zstd takes to fill it.
 */
export interface Decompressor {
  one(data: Buffer, rawSize: number): Buffer;
  many(blocks: Block[], rawTotal: number, dst?: Uint8Array): Buffer;
  /**
   * A damaged block's pages, as far as they decompress (trace-cmd reads those too): rawSize bytes,
   * the pages the decompressor did not reach left marked unreadable. Never throws for bad data.
   */
  salvage(data: Buffer, rawSize: number, pageSize: number): Buffer;
}

/** fzstd (pure JS), loaded only when libzstd is not there or a damaged block needs every decoder. */
function zstdDecompress(data: Uint8Array, out: Uint8Array): Uint8Array {
  return (createRequire(import.meta.url)('fzstd') as typeof import('fzstd')).decompress(data, out);
}

/** Runs fill (which writes into dst as far as it gets) and ignores its failure: what it wrote stays. */
function salvageInto(rawSize: number, pageSize: number, fill: (dst: Buffer) => void): Buffer {
  const dst = unreadablePages(rawSize, pageSize);
  try {
    fill(dst);
  } catch {
    // the pages it reached are in dst; the page decoder checks each
  }
  return dst;
}

/** The algorithms trace-cmd writes: zstd (its default) and zlib. undefined for "none". */
export function decompressorFor(name: string, path: string): Decompressor | undefined {
  if (name === 'none') return undefined;
  if (name === 'zstd') return zstd;
  if (name === 'zlib') return zlib;
  throw new LkstError(`${path} is compressed with '${shownText(name, 40)}', which lkst cannot read`, 'convert it with `trace-cmd convert --compression none` (or zstd/zlib)');
}

function exact(out: Buffer, rawSize: number, name: string): Buffer {
  if (out.length < rawSize) throw new Error(`${name} block gave ${out.length} bytes, expected ${rawSize}`);
  return out.length === rawSize ? out : out.subarray(0, rawSize);
}

function concatOnes(d: Decompressor, blocks: Block[], rawTotal: number): Buffer {
  const parts = blocks.map((b) => d.one(b.data, b.rawSize));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, rawTotal);
}

const zlib: Decompressor = {
  one: (data, rawSize) => exact(inflateSync(data, { maxOutputLength: Math.max(rawSize, 1) }), rawSize, 'zlib'),
  many: (blocks, rawTotal) => concatOnes(zlib, blocks, rawTotal),
  salvage: (data, rawSize, pageSize) => salvageInto(rawSize, pageSize, (dst) => inflateSync(data, { maxOutputLength: Math.max(rawSize, 1), finishFlush: zlibConstants.Z_SYNC_FLUSH }).copy(dst)),
};

/**
 * Node 20 has no zstd. In order of speed on trace pages: the zstd-napi binding (libzstd in process,
 * ~700 MB/s), the zstd program (~350 MB/s with the pipe copies; trace-cmd's chunks are independent
 * frames, decoded as one stream), fzstd (pure JS, ~40 MB/s). LKST_ZSTD=napi|cli|js forces one.
 */
const CLI_MIN_BYTES = 256 << 10;
let cli: boolean | undefined;
/** Decompresses src's frames into dst; returns the bytes written, throws when dst is too small. */
type NapiDecompress = (dst: Uint8Array, src: Uint8Array) => number;
let napi: NapiDecompress | null | undefined;

function napiDecompress(): NapiDecompress | null {
  const mode = process.env.LKST_ZSTD;
  if (mode === 'js' || mode === 'cli') return null;
  if (napi !== undefined) return napi;
  try {
    // The binding's context decodes straight into a buffer of the known size: trace-cmd's frames
    // carry no content size, and zstd-napi's decompress() would stream them into pieces and concat.
    const { DCtx } = createRequire(import.meta.url)('zstd-napi/binding') as { DCtx: new () => { decompress: NapiDecompress } };
    const dctx = new DCtx();
    napi = (dst, src) => dctx.decompress(dst, src);
  } catch {
    napi = null; // the native build is optional: fall back to the program or pure JS
  }
  return napi;
}

/**
 * One zstd frame of data (the zstd-napi binding, else the zstd program), with the library's version
 * for the file header; undefined when neither is here.
 */
export function zstdCompress(data: Buffer): { frame: Buffer; version: string } | undefined {
  try {
    const z = createRequire(import.meta.url)('zstd-napi/binding') as { compress(dst: Uint8Array, src: Uint8Array, level: number): number; compressBound(n: number): number; versionString(): string };
    const dst = Buffer.allocUnsafe(z.compressBound(data.length));
    return { frame: dst.subarray(0, z.compress(dst, data, 3)), version: z.versionString() };
  } catch {
    if (!cliAvailable()) return undefined;
    const r = spawnSync('zstd', ['-c', '-q'], { input: data, encoding: 'buffer', maxBuffer: data.length + (1 << 20) });
    return r.status === 0 ? { frame: r.stdout, version: '' } : undefined;
  }
}

function cliAvailable(): boolean {
  if (process.env.LKST_ZSTD === 'js') return false;
  cli ??= spawnSync('zstd', ['-V'], { stdio: 'ignore' }).status === 0;
  return cli;
}

function useCli(rawBytes: number): boolean {
  if (rawBytes < CLI_MIN_BYTES && process.env.LKST_ZSTD !== 'cli') return false;
  return cliAvailable();
}

function zstdCli(input: Buffer, rawTotal: number): Buffer {
  const r = spawnSync('zstd', ['-d', '-c', '-q'], { input, maxBuffer: rawTotal + 1, encoding: 'buffer' });
  if (r.status !== 0 || r.error) throw new Error(`zstd: ${r.error?.message ?? r.stderr.toString().trim().split('\n')[0]}`);
  if (r.stdout.length !== rawTotal) throw new Error(`zstd gave ${r.stdout.length} bytes, expected ${rawTotal}`);
  return r.stdout;
}

function zstdNapi(d: NapiDecompress, input: Buffer, rawTotal: number, dst?: Uint8Array): Buffer {
  // Else its own memory, so a worker thread can hand it over without a copy.
  const out = dst && dst.length >= rawTotal ? Buffer.from(dst.buffer, dst.byteOffset, rawTotal) : Buffer.allocUnsafeSlow(rawTotal);
  let n: number;
  try {
    n = d(out, input);
  } catch (err) {
    throw new Error(`zstd: ${(err as Error).message}`);
  }
  if (n !== rawTotal) throw new Error(`zstd gave ${n} bytes, expected ${rawTotal}`);
  return out;
}

const zstd: Decompressor = {
  one(data, rawSize) {
    const n = napiDecompress();
    if (n) return zstdNapi(n, data, rawSize);
    if (useCli(rawSize)) return zstdCli(data, rawSize);
    const u = zstdDecompress(data, new Uint8Array(rawSize));
    return exact(Buffer.from(u.buffer, u.byteOffset, u.byteLength), rawSize, 'zstd');
  },
  salvage(data, rawSize, pageSize) {
    // Decoders differ in what they make of a damaged frame (the zstd program can read some that
    // libzstd in process rejects): the one that delivers the most pages wins.
    const n = napiDecompress();
    const ways: ((dst: Buffer) => void)[] = [(dst) => void zstdDecompress(data, dst)];
    if (n) ways.unshift((dst) => void n(dst, data));
    if (cliAvailable()) ways.push((dst) => void spawnSync('zstd', ['-d', '-c', '-q'], { input: data, maxBuffer: rawSize + 1, encoding: 'buffer' }).stdout?.copy(dst));
    let best: Buffer | undefined;
    let bestPages = -1;
    for (const fill of ways) {
      const dst = salvageInto(rawSize, pageSize, fill);
      let pages = 0;
      for (let p = 0; p + pageSize <= rawSize; p += pageSize) if (!isUnreadable(dst, p)) pages++;
      if (pages > bestPages) [best, bestPages] = [dst, pages];
      if (pages * pageSize >= rawSize) break;
    }
    return best!;
  },
  many(blocks, rawTotal, dst) {
    const n = napiDecompress();
    // Frames decode as one stream, so a run of blocks is one call.
    if (n) return zstdNapi(n, blocks.length === 1 ? blocks[0]!.data : Buffer.concat(blocks.map((b) => b.data)), rawTotal, dst);
    if (!useCli(rawTotal)) return concatOnes(zstd, blocks, rawTotal);
    return zstdCli(Buffer.concat(blocks.map((b) => b.data)), rawTotal);
  },
};
