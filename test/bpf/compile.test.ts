// BPF handler sources compiled against this kernel's BTF and checked by its verifier: a good one
// loads (and is unloaded), a compile error and a verifier refusal are each one line naming the
// source line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LkstError } from '../../src/base/errors.js';
import { checkBpfObject } from '../../src/bpf/check.js';
import { compileBpf } from '../../src/bpf/compile.js';
import { findToolchain, problemsText } from '../../src/bpf/toolchain.js';
import { lkst } from '../helpers/cli.js';

const tools = findToolchain();
const skip = 'problems' in tools ? `no BPF toolchain: ${problemsText(tools.problems).why}` : false;

const HEAD = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, u32); __type(value, u64); } counts SEC(".maps");
`;

describe('BPF handler sources: compiled against the kernel BTF, checked by the verifier', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-bpf-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function build(name: string, body: string): string {
    const src = join(dir, `${name}.bpf.c`);
    writeFileSync(src, HEAD + body);
    const obj = join(dir, `${name}.o`);
    compileBpf(src, obj);
    return obj;
  }

  test('a handler that reads a kernel structure behind a pointer (CO-RE) loads, and its programs are listed', () => {
    const obj = build(
      'good',
      `#include <bpf/bpf_core_read.h>
SEC("raw_tracepoint/sched_switch")
int on_switch(struct bpf_raw_tracepoint_args *ctx) {
  struct task_struct *next = (struct task_struct *)ctx->args[2];
  u32 pid = BPF_CORE_READ(next, pid);
  u64 one = 1, *v = bpf_map_lookup_elem(&counts, &pid);
  if (v) __sync_fetch_and_add(v, 1);
  else bpf_map_update_elem(&counts, &pid, &one, BPF_ANY);
  return 0;
}
`,
    );
    const progs = checkBpfObject(obj);
    assert.deepEqual(progs.map((p) => [p.name, p.section]), [['on_switch', 'raw_tracepoint/sched_switch']]);
    assert.ok(progs[0]!.instructions > 5);
  });

  test('a compile error is one line: file, line and the compiler message', () => {
    const body = `SEC("raw_tracepoint/sys_enter")
int broken(void *ctx) {
  return undefined_thing;
}
`;
    const src = join(dir, 'broken.bpf.c');
    writeFileSync(src, HEAD + body);
    const err = (() => {
      try {
        compileBpf(src, join(dir, 'broken.o'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof LkstError, String(err));
    const line = HEAD.split('\n').length - 1 + 3;
    assert.match(err.message, new RegExp(`^broken\\.bpf\\.c:${line}: use of undeclared identifier 'undefined_thing' \\(clang could not compile the handler\\): fix the source`));
  });

  test("a verifier refusal is one line: the source line it stopped at, the program and the verifier's reason", () => {
    const obj = build(
      'unchecked',
      `SEC("raw_tracepoint/sys_enter")
int unchecked(void *ctx) {
  u32 k = 0;
  u64 *v = bpf_map_lookup_elem(&counts, &k);
  *v += 1;
  return 0;
}
`,
    );
    const line = HEAD.split('\n').length - 1 + 5;
    assert.throws(
      () => checkBpfObject(obj),
      (e: unknown) => {
        assert.ok(e instanceof LkstError);
        assert.equal(e.message.split('\n').length, 1);
        assert.match(e.message, new RegExp(`^unchecked\\.bpf\\.c:${line}: the kernel's verifier refused program 'unchecked': R0 invalid mem access 'map_value_or_null' \\(at \`\\*v \\+= 1;\`\\): fix the handler source`));
        return true;
      },
    );
  });

  test('lkst features says which kinds of program this kernel loads, as loading one of each says', () => {
    const obj = build(
      'kinds',
      `#include <bpf/bpf_tracing.h>
SEC("tracepoint/raw_syscalls/sys_enter") int k_tracepoint(void *ctx) { u32 k = 1; u64 one = 1; bpf_map_update_elem(&counts, &k, &one, BPF_ANY); return 0; }
SEC("raw_tracepoint/sys_enter") int k_raw_tracepoint(struct bpf_raw_tracepoint_args *ctx) { u32 k = 2; u64 one = 1; bpf_map_update_elem(&counts, &k, &one, BPF_ANY); return 0; }
SEC("tp_btf/sys_enter") int BPF_PROG(k_tp_btf, struct pt_regs *regs, long id) { u32 k = 3; u64 v = id; bpf_map_update_elem(&counts, &k, &v, BPF_ANY); return 0; }
`,
    );
    const loads = (kind: string) => {
      try {
        checkBpfObject(obj, [`k_${kind}`]);
        return true;
      } catch (e) {
        if (e instanceof LkstError) return false;
        throw e;
      }
    };
    const r = lkst(['features', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const bpf = (JSON.parse(r.stdout) as { bpf: { kinds: Record<string, true | string>; unavailable?: unknown } }).bpf;
    for (const kind of ['tracepoint', 'raw_tracepoint', 'tp_btf']) assert.equal(bpf.kinds[kind] === true, loads(kind), kind);
    const text = lkst(['features']).stdout;
    const yes = ['tracepoint', 'raw_tracepoint', 'tp_btf'].filter((k) => bpf.kinds[k] === true);
    if (yes.length) assert.match(text, new RegExp(`^yes\\s+BPF handlers \\(${yes.join(', ')} programs load`, 'm'));
    else assert.match(text, /^no\s+BPF handlers: /m);
  });
});
