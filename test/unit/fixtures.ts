/**
 * The unit tier's inputs: files scripts/capture-fixtures.ts captured from a real kernel into
 * test/fixtures/ (see its README). Nothing here touches the running kernel.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFormat, type EventFormat } from '../../src/events/format.js';
import { EventRegistry } from '../../src/events/registry.js';

/** The checkout's root: the compiled tests run from dist/test/unit/. */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = join(REPO, 'test', 'fixtures');

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

/** A text fixture as bytes-to-chars (trace-cmd's output is not always UTF-8). */
export function fixtureText(...parts: string[]): string {
  return readFileSync(fixture(...parts), 'latin1');
}

export interface PageCapture {
  pageSize: number;
  cpus: number[];
  bufferKb: number;
  events: string[];
}

export function pageCapture(): PageCapture {
  return JSON.parse(fixtureText('pages', 'capture.json')) as PageCapture;
}

/** A CPU's raw pages, as trace_pipe_raw gave them. */
export function rawPages(cpu: number): Buffer {
  return readFileSync(fixture('pages', `cpu${cpu}.raw`));
}

/** The offset of each whole page of raw. */
export function pageOffsets(raw: Buffer, pageSize: number): number[] {
  const offs: number[] = [];
  for (let off = 0; off + pageSize <= raw.length; off += pageSize) offs.push(off);
  return offs;
}

/** The overrun count the kernel's per_cpu/cpuN/stats gave after the capture. */
export function overrun(cpu: number): number {
  const m = /^overrun: (\d+)$/m.exec(fixtureText('pages', `cpu${cpu}.stats`));
  if (!m) throw new Error(`pages/cpu${cpu}.stats has no overrun line`);
  return Number(m[1]);
}

/** Every captured format file, parsed. */
export function fixtureFormats(): EventFormat[] {
  const root = fixture('kernel', 'formats');
  return readdirSync(root).flatMap((system) => readdirSync(join(root, system)).map((event) => parseFormat(fixtureText('kernel', 'formats', system, event), system)));
}

export function fixtureRegistry(): EventRegistry {
  const reg = new EventRegistry();
  for (const f of fixtureFormats()) reg.add(f);
  return reg;
}

/** "secs.usecs" as the kernel and trace-cmd print a ns time. */
export function usecStamp(ns: number): string {
  const us = Math.floor((ns + 500) / 1000); // rounded to the nearest microsecond
  return `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
}

export interface ReportLine {
  cpu: number;
  stamp: string;
  name: string;
  /** What follows the padded "name:" column. */
  text: string;
}

const LINE_RE = /^.*?\[(\d{3})\]\s+(\d+\.\d{6}): (\w+):( *)(.*)$/;

/** An event line of `trace-cmd report` output, or undefined for other lines. */
export function parseReportLine(line: string): ReportLine | undefined {
  const m = LINE_RE.exec(line);
  if (!m) return undefined;
  // The name column is "name:" padded to 21 characters, then one space.
  const pad = Math.max(1, 22 - (m[3]!.length + 1));
  return { cpu: Number(m[1]), stamp: m[2]!, name: m[3]!, text: (m[4]! + m[5]!).slice(pad) };
}
