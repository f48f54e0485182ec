// The tracing side of the dead kernel: its trace arrays (top level and instances), their clocks,
// and the saved pid → comm table.
import { Kind } from './btf.js';
import type { Kernel } from './kernel.js';

export interface TraceArrayInfo {
  /** "top" for the top-level buffer, else the instance name. */
  name: string;
  addr: bigint;
  buffer: bigint;
  clock: string;
}

export function listTraceArrays(k: Kernel): TraceArrayInfo[] {
  const global = k.syms.addr('global_trace');
  const arrays = k.listEntries(k.syms.addr('ftrace_trace_arrays'), 'trace_array', 'list', 4096);
  // Instances are added at the list head: put the top-level buffer first, instances by age.
  const rest = arrays.filter((a) => a !== global).reverse();
  arrays.length = 0;
  arrays.push(global, ...rest);
  return arrays.map((a) => {
    const tr = k.obj(a, 'trace_array');
    return {
      name: a === global ? 'top' : tr.str('name') ?? `instance@${a.toString(16)}`,
      addr: a, buffer: tr.ptr('array_buffer.buffer'), clock: clockName(k, tr.int('clock_id')),
    };
  });
}

/** trace_clocks[] is an array of an anonymous struct { func, name, in_ns }: its layout comes from BTF. */
function clockName(k: Kernel, id: number): string {
  const fallback = id === 0 ? 'local' : `clock${id}`;
  const sym = k.syms.get('trace_clocks');
  if (!sym) return fallback;
  const t = k.btf.anonymousStruct(['func', 'name', 'in_ns']);
  if (t < 0) return fallback;
  const size = k.btf.sizeOf(t);
  const nameOff = k.btf.type(t)!.members![1].bitOffset / 8;
  try {
    const p = k.mem.u64(sym.addr + BigInt(id * size + nameOff));
    return k.mem.cstring(p, 32) || fallback;
  } catch {
    return fallback;
  }
}

/** saved_cmdlines text ("pid comm" lines) from the kernel's savedcmd buffer. */
export function savedCmdlines(k: Kernel): string {
  const sym = k.syms.get('savedcmd');
  if (!sym) return '';
  const p = k.mem.u64(sym.addr);
  if (p === 0n) return '';
  const sc = k.obj(p, 'saved_cmdlines_buffer');
  const num = sc.int('cmdline_num');
  const comm = k.btf.field('task_struct', 'comm').size || 16;
  const pids = k.mem.read(sc.ptr('map_cmdline_to_pid'), num * 4);
  const f = k.btf.field('saved_cmdlines_buffer', 'saved_cmdlines');
  const namesAt = k.btf.type(k.btf.resolve(f.type))!.kind === Kind.PTR ? sc.ptr('saved_cmdlines') : sc.at('saved_cmdlines');
  const names = k.mem.read(namesAt, num * comm);
  let out = '';
  for (let i = 0; i < num; i++) {
    const pid = pids.readUInt32LE(i * 4);
    if (pid === 0 || pid === 0xffffffff) continue; // NO_CMDLINE_MAP
    const z = names.indexOf(0, i * comm);
    out += `${pid} ${names.toString('latin1', i * comm, z < 0 || z > (i + 1) * comm ? (i + 1) * comm : z)}\n`;
  }
  return out;
}
