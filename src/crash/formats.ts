// Event formats from the dead kernel's own ftrace_events list, as the text tracefs would have shown
// (trace_events.c f_show), because event ids and layouts differ between builds.
import type { Kernel, KObj } from './kernel.js';

export interface RecoveredFormat { id: number; system: string; name: string; text: string }

interface FieldDesc { name: string; type: string; offset: number; size: number; signed: boolean }

function readFields(k: Kernel, head: bigint): FieldDesc[] {
  // Fields are list_add()ed at the head, so definition order is the reverse of the list.
  return k.listEntries(head, 'ftrace_event_field', 'link', 4096).reverse().map((a) => {
    const f = k.obj(a, 'ftrace_event_field');
    const size = f.int('size');
    return { name: f.str('name') ?? '?', type: numericArray(k, f.str('type') ?? '?', size), offset: f.int('offset'), size, signed: f.int('is_signed') !== 0 };
  });
}

/**
 * Array sizes still named by a constant ("char[TASK_COMM_LEN]": newer kernels rewrite these at
 * boot, 6.1 does not) become numbers, computed from the field size and the element's BTF size.
 */
function numericArray(k: Kernel, type: string, size: number): string {
  const m = /^(.*?)\[([A-Za-z_]\w*)\]$/.exec(type);
  if (!m) return type;
  const elem = m[1].trim();
  const elemSize = /^(unsigned |signed )?char$/.test(elem) ? 1 : k.btf.sizeOfNamed(elem);
  return elemSize > 0 && size % elemSize === 0 ? `${elem}[${size / elemSize}]` : type;
}

function fieldLine(f: FieldDesc): string {
  const bracket = f.type.startsWith('__data_loc') ? -1 : f.type.indexOf('[');
  const decl = bracket < 0 ? `${f.type} ${f.name}` : `${f.type.slice(0, bracket)} ${f.name}${f.type.slice(bracket)}`;
  return `\tfield:${decl};\toffset:${f.offset};\tsize:${f.size};\tsigned:${f.signed ? 1 : 0};\n`;
}

/** The id of every event the kernel had (its ftrace_events list, whole or not at all: a broken list throws). */
export function eventIds(k: Kernel): Set<number> {
  return new Set(k.listEntries(k.syms.addr('ftrace_events'), 'trace_event_call', 'list').map((a) => k.obj(a, 'trace_event_call').int('event.type')));
}

export interface FormatRecovery { formats: RecoveredFormat[]; skipped: string[] }

/** Formats of every event the kernel knew; `wanted` limits the work to the ids the pages use. */
export function recoverFormats(k: Kernel, wanted?: Set<number>): FormatRecovery {
  const common = readFields(k, k.syms.addr('ftrace_common_fields'));
  const tpFlag = k.btf.enumValue('TRACE_EVENT_FL_TRACEPOINT') ?? 0n;
  const out: RecoveredFormat[] = [];
  const skipped: string[] = [];
  for (const a of k.listEntries(k.syms.addr('ftrace_events'), 'trace_event_call', 'list')) {
    let call: KObj;
    try {
      call = k.obj(a, 'trace_event_call');
      const id = call.int('event.type');
      const flags = call.num('flags');
      const name = flags & tpFlag ? k.obj(call.ptr('tp'), 'tracepoint').str('name') : call.str('name');
      const cls = call.obj('class', 'trace_event_class');
      const system = cls.str('system') ?? 'ftrace';
      if (wanted && !wanted.has(id) && system !== 'ftrace') continue;
      // Syscall entry events keep their fields in their syscall_metadata, not in the class.
      const fieldsHead = cls.ptr('get_fields') !== 0n && call.ptr('data') !== 0n && k.btf.hasStruct('syscall_metadata')
        ? k.obj(call.ptr('data'), 'syscall_metadata').at('enter_fields')
        : cls.at('fields');
      const fields = readFields(k, fieldsHead);
      const printFmt = call.str('print_fmt', 8192) ?? '""';
      const text = `name: ${name}\nID: ${id}\nformat:\n${common.map(fieldLine).join('')}\n${fields.map(fieldLine).join('')}\nprint fmt: ${printFmt}\n`;
      out.push({ id, system, name: name ?? `event${id}`, text });
    } catch (e) {
      skipped.push(`event at 0x${a.toString(16)}: ${(e as Error).message}`);
    }
  }
  return { formats: out, skipped };
}

/** header_page text for the dump's own buffer_data_page layout. */
export function headerPageText(k: Kernel, pageSize: number): string {
  const ts = k.btf.field('buffer_data_page', 'time_stamp');
  const commit = k.btf.field('buffer_data_page', 'commit');
  const data = k.btf.field('buffer_data_page', 'data');
  return `\tfield: u64 timestamp;\toffset:${ts.offset};\tsize:${ts.size};\tsigned:0;\n` +
    `\tfield: local_t commit;\toffset:${commit.offset};\tsize:${commit.size};\tsigned:1;\n` +
    `\tfield: int overwrite;\toffset:${commit.offset};\tsize:1;\tsigned:1;\n` +
    `\tfield: char data;\toffset:${data.offset};\tsize:${pageSize - data.offset};\tsigned:1;\n`;
}

/** The record header layout has been the same since 2.6.30. */
export const HEADER_EVENT_TEXT = '# compressed entry header\n\ttype_len    :    5 bits\n\ttime_delta  :   27 bits\n\tarray       :   32 bits\n\n\tpadding     : type == 29\n\ttime_extend : type == 30\n\ttime_stamp : type == 31\n\tdata max type_len  == 28\n';
