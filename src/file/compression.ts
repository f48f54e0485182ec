import { inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { LkstError } from '../tracefs/errors.js';

/** Decompresses one block of a known uncompressed size. */
export type Decompressor = (data: Buffer, rawSize: number) => Buffer;

/** The algorithms trace-cmd writes: zstd (its default) and zlib. */
export function decompressorFor(name: string, path: string): Decompressor | undefined {
  if (name === 'none') return undefined;
  if (name === 'zstd') {
    return (data, rawSize) => {
      const u = zstdDecompress(data, new Uint8Array(rawSize));
      return exact(Buffer.from(u.buffer, u.byteOffset, u.byteLength), rawSize, name);
    };
  }
  if (name === 'zlib') {
    return (data, rawSize) => exact(inflateSync(data, { maxOutputLength: Math.max(rawSize, 1) }), rawSize, name);
  }
  throw new LkstError(`${path} is compressed with '${name.slice(0, 40)}', which lkst cannot read`, 'convert it with `trace-cmd convert --compression none` (or zstd/zlib)');
}

function exact(out: Buffer, rawSize: number, name: string): Buffer {
  if (out.length < rawSize) throw new Error(`${name} block gave ${out.length} bytes, expected ${rawSize}`);
  return out.length === rawSize ? out : out.subarray(0, rawSize);
}
