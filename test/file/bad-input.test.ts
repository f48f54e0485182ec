import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTraceDat, type TraceFile } from '../../src/file/reader.js';
import { LkstError } from '../../src/base/errors.js';
import { spawnSync } from 'node:child_process';
import { isOneLineError, lkst } from '../helpers/cli.js';
import { writeSmallFiles, type SmallFiles } from './small-files.js';

let dir: string;
let files: SmallFiles;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lkst-bad-'));
  files = await writeSmallFiles(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function variant(name: string, bytes: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function refuses(path: string, re: RegExp): void {
  assert.throws(
    () => openTraceDat(path).close(),
    (e: unknown) => e instanceof LkstError && re.test(e.message) && !e.message.includes('\n'),
    `${path} must be refused with ${re}`,
  );
}

function pages(tf: TraceFile): Buffer[] {
  return tf.buffers[0]!.cpus.map((s) => Buffer.concat([...s.chunks()]));
}

test('no file, an empty file, a directory, garbage: one-line errors', () => {
  refuses(join(dir, 'absent.dat'), /does not exist/);
  refuses(variant('empty.dat', Buffer.alloc(0)), /is empty/);
  const d = join(dir, 'a-directory');
  mkdirSync(d);
  refuses(d, /is a directory/);
  refuses(variant('garbage.dat', randomBytes(10000)), /not a trace\.dat file \(wrong magic\)/);
  refuses(variant('elf.dat', readFileSync(process.execPath).subarray(0, 65536)), /wrong magic/);
  refuses(variant('magic-only.dat', readFileSync(files.ours).subarray(0, 10)), /not a valid trace\.dat file/);
});

test('unknown version, big-endian, unknown compression, corrupt section sizes: refused with the cause', () => {
  const ours = readFileSync(files.ours);
  const v = Buffer.from(ours);
  v[10] = '9'.charCodeAt(0);
  refuses(variant('v9.dat', v), /version '9'/);
  const be = Buffer.from(ours);
  be[12] = 1;
  refuses(variant('be.dat', be), /big-endian/);
  const lz = Buffer.from(ours);
  const at = lz.indexOf('none\0');
  lz.write('lzma', at, 'latin1');
  refuses(variant('lzma.dat', lz), /compressed with 'lzma'/);
  // The first section (header_page/header_event) claims more bytes than the file has.
  const big = Buffer.from(ours);
  const first = ours.indexOf('none\0\0') + 6 + 8;
  big.writeBigUInt64LE(1n << 40n, first + 8);
  refuses(variant('bigsection.dat', big), /runs past the end/);
  // The options offset points into the pages.
  const off = Buffer.from(ours);
  off.writeBigUInt64LE(BigInt(ours.length - 4096), first - 8);
  refuses(variant('badoptions.dat', off), /not a valid trace\.dat file/);
  // v6: a kallsyms size of 4 GB must not be allocated.
  const v6 = readFileSync(files.v6);
  const ks = v6.toString('latin1').search(/[0-9a-f]{16} [A-Za-z] \S+\n/);
  assert.ok(ks > 4, 'the v6 file holds kallsyms');
  const k = Buffer.from(v6);
  k.writeUInt32LE(0xffffffff, ks - 4);
  refuses(variant('v6-kallsyms.dat', k), /kallsyms of 4294967295 bytes .* runs past the end/);
});

test('a latency (text) trace is refused with what lkst reads instead', () => {
  const v6 = Buffer.from(readFileSync(files.v6));
  const at = v6.indexOf('flyrecord\0', 0, 'latin1');
  assert.ok(at > 0);
  v6.write('latency  \0', at, 'latin1');
  refuses(variant('latency.dat', v6), /latency \(text\) trace/);
});

test('a file cut off in its pages is read up to its last whole page, with a warning', () => {
  for (const src of [files.ours, files.v6]) {
    const whole = openTraceDat(src);
    const full = pages(whole);
    whole.close();
    const bytes = readFileSync(src);
    const cut = variant('cut.dat', bytes.subarray(0, bytes.length - 1000));
    const tf = openTraceDat(cut);
    try {
      assert.ok(tf.warnings.some((w) => /ends \d+ bytes early/.test(w)), `${src}: a warning names the cut`);
      const got = pages(tf);
      const last = got.length - 1;
      assert.equal(got[last]!.length % tf.pageSize, 0);
      assert.equal(got[last]!.length, full[last]!.length - tf.pageSize, 'only the cut page is missing');
      assert.ok(full[last]!.subarray(0, got[last]!.length).equals(got[last]!));
    } finally {
      tf.close();
    }
  }
});

test('a compressed trace-cmd file cut off anywhere opens with whole chunks or is refused in one line', () => {
  const bytes = readFileSync(files.zstd);
  for (let cut = bytes.length - 1; cut > bytes.length - 20000 && cut > 0; cut -= 997) {
    let tf: TraceFile | undefined;
    try {
      tf = openTraceDat(variant('zcut.dat', bytes.subarray(0, cut)));
      for (const s of tf.buffers[0]!.cpus) for (const c of s.chunks()) assert.equal(c.length % s.pageSize, 0);
    } catch (e) {
      assert.ok(e instanceof LkstError && /cut off/.test(e.message) && !e.message.includes('\n'), `cut at ${cut}: ${String(e)}`);
    } finally {
      tf?.close();
    }
  }
});

test('a FIFO (no writer), a device or a socket as the input is refused in one line, never waited on', () => {
  const fifo = join(dir, 'pipe.dat');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  // A guard against a hang, not a timed assertion: before the fix the open blocked forever.
  for (const args of [['report', fifo], ['report', '--json', fifo], ['recover', fifo, '-o', join(dir, 'r.dat')], ['stats', fifo], ['report', '/dev/null']]) {
    const r = lkst(args, { timeoutMs: 60_000 });
    assert.equal(r.error, undefined, `${args.join(' ')}: finished`);
    assert.ok(isOneLineError(r), `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /is a (FIFO \(named pipe\)|character device): give .* not from a pipe or device/);
  }
  refuses(fifo, /FIFO/);
});

/** Every page of every CPU of the main buffer, as the number of pages per CPU. */
function pageCounts(path: string): number[] {
  const tf = openTraceDat(path);
  try {
    return pages(tf).map((p) => p.length / tf.pageSize);
  } finally {
    tf.close();
  }
}

test('a saved cmdlines size off by one (v6, v7 plain, v7 zstd) loses no pages: the rest is read, with a warning', () => {
  // v6: the size is the last thing before the CPU count and the data tag.
  const v6 = readFileSync(files.v6);
  const tagAt = [v6.indexOf('options  \0', 0, 'latin1'), v6.indexOf('flyrecord\0', 0, 'latin1')].filter((i) => i > 0).sort((a, b) => a - b)[0]!;
  let sizeAt = -1;
  for (let p = tagAt - 12; p > 0 && sizeAt < 0; p--) if (Number(v6.readBigUInt64LE(p)) === tagAt - 4 - (p + 8)) sizeAt = p;
  assert.ok(sizeAt > 0, 'found the v6 cmdlines size');
  const want6 = pageCounts(files.v6);
  for (const d of [1, -1, 7]) {
    const b = Buffer.from(v6);
    b.writeBigUInt64LE(v6.readBigUInt64LE(sizeAt) + BigInt(d), sizeAt);
    const p = variant(`v6-cmdlines${d}.dat`, b);
    assert.deepEqual(pageCounts(p), want6, `v6 cmdlines size ${d > 0 ? '+' : ''}${d}`);
    const tf = openTraceDat(p);
    assert.ok(tf.warnings.some((w) => /saved cmdlines size is \d+ byte\(s\) too/.test(w)), tf.warnings.join('; '));
    assert.ok(tf.cmdlines.size > 0, 'the whole cmdlines lines are kept');
    tf.close();
  }
  // v7: the inner size of the plain section, and the uncompressed size of the zstd one.
  for (const [src, field] of [[files.ours, 16], [files.zstd, 20]] as const) {
    const orig = readFileSync(src);
    const tf0 = openTraceDat(src);
    const at = tf0.options.sections.get(21)!;
    tf0.close();
    const want = pageCounts(src);
    for (const d of [1, -1]) {
      const b = Buffer.from(orig);
      b.writeUInt32LE(orig.readUInt32LE(at + field) + d, at + field);
      const p = variant(`v7-cmdlines${d}.dat`, b);
      assert.deepEqual(pageCounts(p), want, `${src} cmdlines size ${d}`);
    }
  }
});

test('text from inputs reaches the terminal escaped and cut: a compression name, an event name, a long filter', () => {
  const ours = readFileSync(files.ours);
  const comp = Buffer.from(ours);
  comp.write('n\n\x1b]', comp.indexOf('none\0'), 'latin1');
  const r = lkst(['report', variant('esc-comp.dat', comp)]);
  assert.ok(isOneLineError(r), r.stderr);
  assert.ok(r.stderr.includes("compressed with 'n\\n\\x1b]'"), r.stderr);
  const name = Buffer.from(ours);
  name.write('\x1b[31m', name.indexOf('name: sched_switch') + 6, 'latin1');
  const n = lkst(['report', variant('esc-name.dat', name)]);
  assert.equal(n.status, 0, n.stderr);
  assert.ok(![...(n.stdout + n.stderr)].some((ch) => /\p{Cc}/u.test(ch) && ch !== '\n' && ch !== '\t'), 'no control byte but newlines and tabs in the output');
  assert.match(n.stdout, /\\x1b\[31m_switch:/);
  // A filter the kernel rejects is quoted in the error: cut, with the length left out.
  const long = `prev_pid == 1 && ${'prev_pid == 1 || '.repeat(6000)}`;
  const f = lkst(['record', '-q', '-e', 'sched:sched_switch', '-f', long, '-o', join(dir, 'f.dat'), '--', 'true']);
  assert.ok(isOneLineError(f), f.stderr.slice(0, 500));
  assert.ok(f.stderr.length < 2500, `${f.stderr.length} characters`);
  assert.match(f.stderr, /\.\.\. \([\d,]+ more characters\)/);
  // A maskset line with control bytes is quoted escaped.
  const cfg = join(dir, 'cfg');
  const ms = join(dir, 'esc.maskset.txt');
  writeFileSync(ms, 'sched:sched_switch\x1b[2J\x07 record\n');
  const m = lkst(['maskset', 'create', 'esc', '--file', ms], { env: { ...process.env, LKST_CONFIG_DIR: cfg } });
  assert.ok(isOneLineError(m), m.stderr);
  assert.ok(m.stderr.includes('sched:sched_switch\\x1b[2J\\x07'), m.stderr);
});
