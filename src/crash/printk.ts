// The end of the kernel log (printk ring buffer), for the panic's time and message.
import type { Kernel } from './kernel.js';

export interface LogRecord { seq: number; ts: number; text: string }

/** The last `count` records of the kernel log, oldest first. */
export function lastLogRecords(k: Kernel, count = 64): LogRecord[] {
  const ptr = k.syms.get('prb');
  if (!ptr || !k.btf.hasStruct('printk_ringbuffer')) return [];
  const rb = k.obj(k.mem.u64(ptr.addr), 'printk_ringbuffer');
  const bits = rb.int('desc_ring.count_bits');
  const descs = rb.ptr('desc_ring.descs');
  const infos = rb.ptr('desc_ring.infos');
  const head = rb.num('desc_ring.head_id');
  const dataBits = rb.int('text_data_ring.size_bits');
  const data = rb.ptr('text_data_ring.data');
  const descSize = BigInt(k.btf.structSize('prb_desc'));
  const infoSize = BigInt(k.btf.structSize('printk_info'));
  const idMask = (1n << BigInt(bits)) - 1n;
  const dataMask = (1n << BigInt(dataBits)) - 1n;
  const blockHdr = 8n; // struct prb_data_block starts with its unsigned long id
  const out: LogRecord[] = [];
  for (let i = 0n; i < BigInt(count); i++) {
    const idx = (head - i) & idMask;
    try {
      const info = k.obj(infos + idx * infoSize, 'printk_info');
      const desc = k.obj(descs + idx * descSize, 'prb_desc');
      const begin = desc.num('text_blk_lpos.begin');
      const next = desc.num('text_blk_lpos.next');
      const len = info.int('text_len');
      let text = '';
      if (len > 0 && len < 4096 && next > begin) {
        // A block that would wrap is stored whole at the start of the data ring.
        const off = (begin & dataMask) + blockHdr + BigInt(len) > dataMask + 1n || (next & dataMask) < (begin & dataMask) && (next & dataMask) !== 0n
          ? blockHdr : (begin & dataMask) + blockHdr;
        text = k.mem.read(data + off, len).toString('utf8');
      }
      out.push({ seq: Number(info.num('seq')), ts: Number(info.num('ts_nsec')), text });
    } catch {
      break;
    }
  }
  return out.filter((r) => r.ts > 0).sort((a, b) => a.seq - b.seq);
}

export interface PanicInfo { ts: number; message: string }

/** The panic's time and message, from the log; undefined when the log has none. */
export function findPanic(k: Kernel): PanicInfo | undefined {
  const recs = lastLogRecords(k);
  const p = [...recs].reverse().find((r) => /Kernel panic - not syncing/.test(r.text));
  const last = recs[recs.length - 1];
  if (p) return { ts: p.ts, message: p.text.trim() };
  return last ? { ts: last.ts, message: `(no panic message; last log line) ${last.text.trim()}` } : undefined;
}
