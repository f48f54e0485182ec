/**
 * SystemInfo.utsname from the trace's uname option. The importer
 * (src/trace_processor/importers/proto/system_probes_parser.cc, ParseSystemInfo, and
 * importers/common/system_info_tracker.cc) takes the kernel version from sysname "Linux" and the
 * release's major.minor, and decodes sched_switch prev_state by it; the machine picks its syscall table.
 */
import { SYSTEM_INFO, UTSNAME } from './ids.js';
import type { ProtoWriter } from '../protobuf.js';

export interface Utsname {
  sysname: string;
  release: string;
  version?: string;
  machine?: string;
}

const MACHINE = /^(x86_64|i[3-6]86|aarch64|arm\w*|riscv(32|64)|ppc\w*|s390x?|mips\w*|loongarch\w*|sparc\w*)$/;
const RELEASE = /^\d+\.\d+/;

/**
 * The uname option as its writers wrote it: lkst record `uname -a` ("Linux host 6.18.4 #1 SMP ...
 * x86_64 GNU/Linux") or /proc/version ("Linux version 6.18.4 (...)"), trace-cmd "sysname nodename
 * release machine", a recovered dump "Linux 6.18.4".
 */
export function parseUname(text: string): Utsname | undefined {
  const t = text.trim().split(/\s+/);
  const sysname = t[0];
  const at = t.length === 2 ? 1 : 2;
  const release = t[at];
  if (!sysname || !release || !RELEASE.test(release)) return undefined;
  if (t.length === 2 || t[1] === 'version') return { sysname, release };
  let m = -1;
  for (let i = t.length - 1; i > at; i--) if (MACHINE.test(t[i]!)) m = i;
  if (m < 0) return { sysname, release };
  const version = t.slice(at + 1, m).join(' ');
  return { sysname, release, machine: t[m]!, ...(version ? { version } : {}) };
}

/** The SystemInfo message. */
export function writeSystemInfo(w: ProtoWriter, u: Utsname): void {
  w.message(SYSTEM_INFO.utsname, (n) => {
    n.string(UTSNAME.sysname, u.sysname).string(UTSNAME.release, u.release);
    if (u.version) n.string(UTSNAME.version, u.version);
    if (u.machine) n.string(UTSNAME.machine, u.machine);
  });
}
