import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { tracecmd } from '../helpers/tracecmd-guard.js';
import { openTraceDat, type TraceFile } from '../../src/file/reader.js';
import { Instance } from '../../src/tracefs/instance.js';
import { SAMPLE_EVENTS, enableEvents, sampleWorkload } from '../helpers/capture.js';
import { assertAgrees, decodeBuffer, tracecmdReport } from './agree.js';

function run(args: string[]): void {
  const r = tracecmd(args);
  assert.equal(r.status, 0, `trace-cmd ${args.join(' ')} failed: ${r.stderr}`);
}

/** A trace written by trace-cmd itself: our private instance, drained by `trace-cmd extract -B`. */
function tracecmdFile(dir: string): string {
  const inst = Instance.create(`lkst-test-tcfile-${process.pid}`);
  try {
    enableEvents(inst, SAMPLE_EVENTS);
    inst.tracingOn = true;
    sampleWorkload(inst);
    inst.tracingOn = false;
    const out = join(dir, 'tc.dat');
    run(['extract', '-B', inst.name, '-o', out]);
    return out;
  } finally {
    inst.remove(); // extract removes it already; this covers a failure before that
  }
}

function pagesOf(tf: TraceFile): Buffer[] {
  return tf.buffers[0]!.cpus.map((s) => Buffer.concat([...s.chunks()]));
}

test('trace-cmd files: compressed v7, plain v7 and v6 read like trace-cmd reports them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-tcfile-'));
  try {
    const zstd = tracecmdFile(dir);
    const plain = join(dir, 'plain.dat');
    const v6 = join(dir, 'v6.dat');
    run(['convert', '-i', zstd, '--compression', 'none', '-o', plain]);
    run(['convert', '-i', zstd, '--file-version', '6', '-o', v6]);
    const expect: [string, number, string][] = [
      [zstd, 7, 'zstd'],
      [plain, 7, 'none'],
      [v6, 6, 'none'],
    ];
    let reference: Buffer[] | undefined;
    for (const [path, version, compression] of expect) {
      const tf = openTraceDat(path);
      try {
        assert.equal(tf.version, version, path);
        assert.equal(tf.compression, compression, path);
        assert.deepEqual(tf.warnings, [], path);
        assert.match(tf.buffers[0]!.name, /^lkst-test-tcfile-/);
        assert.ok(tf.registry.find('sched', 'sched_switch'));
        assert.ok(tf.cmdlines.size > 0 && tf.kallsyms.size > 0);
        const main = tf.buffers.find((b) => b.name === tf.buffers[0]!.name)!;
        const { events, fieldChecks } = assertAgrees(decodeBuffer(tf.registry, main), tracecmdReport(path));
        assert.ok(events > 50 && fieldChecks > 50, `${path}: compared ${events} events, ${fieldChecks} fields`);
        const pages = pagesOf(tf);
        reference ??= pages;
        assert.deepEqual(pages.map((p) => p.length), reference.map((p) => p.length));
        assert.ok(pages.every((p, i) => p.equals(reference![i]!)), `${path}: the same pages as the compressed file`);
      } finally {
        tf.close();
      }
    }
    // Every zstd decoder gives the same pages: the binding (the default above), pure JS, the program.
    const hasCli = spawnSync('zstd', ['-V'], { stdio: 'ignore' }).status === 0;
    for (const mode of hasCli ? ['js', 'cli'] : ['js']) {
      process.env.LKST_ZSTD = mode;
      try {
        const tf = openTraceDat(zstd);
        try {
          assert.ok(pagesOf(tf).every((p, i) => p.equals(reference![i]!)), `zstd via ${mode}: the same pages`);
        } finally {
          tf.close();
        }
      } finally {
        delete process.env.LKST_ZSTD;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
