/**
 * Loads a compiled BPF object into the kernel to check it (the verifier's verdict), then unloads it:
 * `lkst-bpf-check`, a small C program on libbpf (the field's loader: CO-RE relocations against the
 * kernel's BTF happen here), compiled on first use like lkst-pump. A refusal becomes one line naming
 * the program, the source line the verifier stopped at (from the BTF line info clang's -g puts in
 * the object) and the verifier's reason.
 */
import { execFileSync } from 'node:child_process';
import { LkstError } from '../base/errors.js';
import { compiledHelper } from '../native/compile.js';

const SOURCE = String.raw`
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

/* libbpf's messages (the verifier log among them) go to stderr for the caller to read. */
static int say(enum libbpf_print_level level, const char *fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  return vfprintf(stderr, fmt, ap);
}

/* lkst-bpf-check OBJECT [PROGRAM...]: loads the named programs (all when none is named). */
int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: lkst-bpf-check OBJECT [PROGRAM...]\n"); return 2; }
  libbpf_set_print(say);
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj) { fprintf(stderr, "lkst-bpf-check: cannot open %s\n", argv[1]); return 2; }
  if (argc > 2) {
    struct bpf_program *p;
    bpf_object__for_each_program(p, obj) {
      int wanted = 0;
      for (int i = 2; i < argc; i++) if (strcmp(bpf_program__name(p), argv[i]) == 0) wanted = 1;
      bpf_program__set_autoload(p, wanted);
    }
  }
  int err = bpf_object__load(obj);
  if (!err) {
    struct bpf_program *p;
    bpf_object__for_each_program(p, obj)
      if (bpf_program__autoload(p)) printf("program %s %s %zu\n", bpf_program__name(p), bpf_program__section_name(p), bpf_program__insn_cnt(p));
  }
  bpf_object__close(obj);
  return err ? 1 : 0;
}
`;

export interface CheckedProgram {
  name: string;
  section: string;
  instructions: number;
}

/** How lkst's C helpers on libbpf are linked, and what to install when they cannot be. */
export const LIBBPF_LINK = { libs: ['-lbpf'], fix: 'install libbpf-dev and a C compiler (apt-get install libbpf-dev gcc)' };

function checker(): string {
  return compiledHelper('lkst-bpf-check', SOURCE, undefined, LIBBPF_LINK);
}

/**
 * The verifier's refusal in one line: which program, the source line it stopped at, why. log is
 * libbpf's output (the verifier log between its BEGIN/END PROG LOAD LOG marks).
 */
export function verifierMessage(log: string): { program?: string; at?: string; code?: string; reason: string } {
  const program = /prog '([^']+)': BPF program load failed/.exec(log)?.[1];
  const begin = log.indexOf('-- BEGIN PROG LOAD LOG --');
  const end = log.indexOf('-- END PROG LOAD LOG --');
  if (begin < 0 || end < begin) {
    const last = log.split('\n').map((l) => l.replace(/^libbpf: /, '').trim()).filter(Boolean);
    return { program, reason: last.find((l) => /error|fail|invalid|unknown|not/i.test(l)) ?? last.at(-1) ?? 'the kernel refused the object' };
  }
  const lines = log.slice(begin, end).split('\n').slice(1).map((l) => l.trimEnd()).filter(Boolean);
  // The reason: the last line that is neither an instruction, a source note, nor the statistics.
  let reasonAt = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (/^processed \d+ insns/.test(l) || /^\d+: /.test(l) || l.startsWith(';') || /^verification time/.test(l) || /^stack depth/.test(l)) continue;
    reasonAt = i;
    break;
  }
  const reason = reasonAt >= 0 ? lines[reasonAt]! : 'the verifier refused the program';
  let at: string | undefined;
  let code: string | undefined;
  for (let i = reasonAt; i >= 0; i--) {
    const m = /^; (.*) @ (\S+:\d+)$/.exec(lines[i]!);
    if (m && !m[2]!.endsWith(':0')) {
      at = m[2];
      code = m[1]!.trim();
      break;
    }
  }
  return { program, at, code, reason };
}

/**
 * Loads the named programs of a BPF object (all when none is named) into the kernel and unloads them. Returns the programs; throws
 * a one-line LkstError naming the source line when the verifier (or libbpf) refuses it.
 */
export function checkBpfObject(object: string, programs: readonly string[] = []): CheckedProgram[] {
  const bin = checker();
  let out: string;
  try {
    out = execFileSync(bin, [object, ...programs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { status?: number; stderr?: string };
    if (e.status !== 1) throw new LkstError(`cannot check ${object}: ${String(e.stderr ?? err).trim().split('\n')[0]}`, 'is it a BPF object compiled by clang -target bpf?');
    const v = verifierMessage(e.stderr ?? '');
    const where = v.at ? `${v.at}: ` : '';
    const what = v.program ? `the kernel's verifier refused program '${v.program}'` : 'the kernel refused the BPF object';
    throw new LkstError(`${where}${what}: ${v.reason}${v.code ? ` (at \`${v.code}\`)` : ''}`, 'fix the handler source and add it again');
  }
  return out
    .split('\n')
    .map((l) => /^program (\S+) (\S+) (\d+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!, section: m[2]!, instructions: Number(m[3]) }));
}
