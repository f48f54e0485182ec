import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { LkstError, errnoCode } from '../base/errors.js';
import type { BenchReport } from './report.js';
import { renderMarkdown } from './render/markdown.js';
import { renderSvg } from './render/svg.js';
import { renderTable } from './render/table.js';

/** Renders a report in the format its file name asks for (.md, .json, .svg, anything else: the table). */
export function renderFor(path: string, r: BenchReport): string {
  switch (extname(path).toLowerCase()) {
    case '.md':
    case '.markdown':
      return renderMarkdown(r);
    case '.json':
      return JSON.stringify(r, null, 2) + '\n';
    case '.svg':
      return renderSvg(r);
    default:
      return renderTable(r);
  }
}

export function writeReport(path: string, r: BenchReport): void {
  try {
    writeFileSync(path, renderFor(path, r));
  } catch (err) {
    throw new LkstError(`cannot write ${path} (${errnoCode(err) ?? err})`, 'choose a writable path');
  }
}
