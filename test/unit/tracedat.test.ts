import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTraceDat } from '../../src/file/reader.js';
import { reportText } from '../report/report-output.js';
import { fixture, fixtureText } from './fixtures.js';

/** lkst's report of a fixture file, and the first line where it differs from trace-cmd's. */
async function compare(name: string): Promise<{ lines: number; first: number; ours: string[]; theirs: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'lkst-unit-'));
  try {
    const { text } = await reportText(dir, fixture(`${name}.dat`));
    const ours = text.split('\n');
    const theirs = fixtureText(`${name}.report.txt`).split('\n');
    const first = ours.findIndex((l, i) => l !== theirs[i]);
    return { lines: theirs.length, first: first < 0 && ours.length !== theirs.length ? Math.min(ours.length, theirs.length) : first, ours, theirs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const [name, writer, compression] of [
  ['lkst', 'lkst', 'none'],
  ['trace-cmd', '`trace-cmd extract`', 'zstd'],
] as const) {
  test(`the trace.dat ${writer} wrote (v7, compression ${compression}) prints line for line as trace-cmd report prints it`, async () => {
    const { lines, first, ours, theirs } = await compare(name);
    assert.equal(first, -1, `line ${first + 1}:\n  trace-cmd: ${theirs[first]}\n  lkst:      ${ours[first]}`);
    assert.ok(lines > 500, `only ${lines} lines`);
    assert.ok(
      theirs.some((l) => /EVENTS DROPPED/.test(l)),
      'the file has lost events',
    );
  });

  test(`the reader takes ${name}.dat's header: version 7, ${compression} compression, 64-bit pages`, () => {
    const tf = openTraceDat(fixture(`${name}.dat`));
    try {
      assert.deepEqual([tf.version, tf.compression, tf.longSize, tf.pageSize], [7, compression, 8, 4096]);
      assert.equal(tf.headerPage.dataOffset, 16);
    } finally {
      tf.close();
    }
  });
}
