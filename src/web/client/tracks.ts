/// <reference lib="dom" />
/**
 * The viewer's rows as objects: a buffer's CPU, a process with its threads under it, a thread, the
 * markers (trace_marker writes, maskset switches) and the findings. Each draws itself from the
 * current window's data, mapped through the viewport (data of an older window is drawn where it
 * falls until the new one arrives).
 */
import type { Column, CpuTrackInfo, FindingInfo, ProcessInfo, ThreadInfo, ViewMeta, WindowMeta } from '../schema.js';
import { colorOf, densityHeight, fitText, layoutLabels, textOn, type Viewport } from './draw.js';

export interface WindowData {
  meta: WindowMeta;
  cols: Record<string, Column>;
}

export interface Paint {
  ctx: CanvasRenderingContext2D;
  vp: Viewport;
  win: WindowData | undefined;
  meta: ViewMeta;
  /** Right edge of the drawing area. */
  right: number;
  commOf(pid: number): string;
  findings: FindingInfo[];
}

export const LABEL_W = 170;

export abstract class Track {
  y = 0;
  abstract readonly id: string;
  abstract readonly height: number;
  abstract label(): string;
  /** Indentation of the label (threads under their process). */
  indent = 0;
  /** Track ids whose data the window request asks for. */
  wants(): string[] {
    return [];
  }
  abstract draw(p: Paint, y: number): void;
  /** Background of the row. */
  shade(): string {
    return '#fff';
  }
}

const col = (w: WindowData | undefined, id: string, what: string) => w?.cols[`${id}/${what}`];

/** Intervals from the window's columns, coloured per value, labelled where wide enough. */
function drawIntervals(p: Paint, start: Column | undefined, end: Column | undefined, value: Column | undefined, y: number, h: number, colour: (v: number) => string, label?: (v: number) => string): void {
  if (!start || !end) return;
  const { ctx, vp } = p;
  let last = '';
  for (let i = 0; i < start.length; i++) {
    const x0 = Math.max(LABEL_W, vp.x(start[i]!));
    const x1 = Math.min(p.right, vp.x(end[i]!));
    if (x1 < LABEL_W || x0 > p.right) continue;
    const v = value ? value[i]! : 0;
    const c = colour(v);
    if (c !== last) ctx.fillStyle = last = c;
    ctx.fillRect(x0, y, Math.max(1, x1 - x0), h);
    if (label && x1 - x0 > 30) {
      const text = fitText(label(v), x1 - x0 - 4);
      if (text) {
        ctx.fillStyle = textOn(v);
        ctx.fillText(text, x0 + 2, y + h - 3);
        last = '';
      }
    }
  }
}

/** Lost-event ranges of a buffer's CPU, shaded over the row, with a mark where the loss was found. */
function drawLost(p: Paint, t: CpuTrackInfo, y: number, h: number): void {
  const { ctx, vp } = p;
  for (const l of p.meta.lost) {
    if (l.buffer !== t.buffer || l.cpu !== t.cpu) continue;
    const x1 = vp.x(l.end);
    if (x1 < LABEL_W || vp.x(l.start) > p.right) continue;
    const x0 = Math.max(LABEL_W, vp.x(l.start));
    ctx.fillStyle = 'rgba(213,0,0,0.18)';
    ctx.fillRect(x0, y, Math.max(2, x1 - x0), h);
    ctx.fillStyle = '#d50000';
    ctx.fillRect(Math.min(p.right, x1) - 1, y, 2, h);
  }
}

export class CpuTrack extends Track {
  readonly height = 28;
  readonly id: string;
  constructor(
    readonly info: CpuTrackInfo,
    private readonly bufferName: string,
  ) {
    super();
    this.id = info.id;
  }
  label(): string {
    return `${this.bufferName ? `${this.bufferName} ` : ''}CPU ${this.info.cpu}`;
  }
  override wants(): string[] {
    return [this.id];
  }
  override shade(): string {
    return '#eceff1';
  }
  draw(p: Paint, y: number): void {
    const w = p.win;
    const { ctx } = p;
    ctx.font = '10px system-ui';
    drawIntervals(p, col(w, this.id, 'run.start'), col(w, this.id, 'run.end'), col(w, this.id, 'run.pid'), y + 2, 16, colorOf, (pid) => `${p.commOf(pid)}:${pid}`);
    ctx.fillStyle = '#e65100';
    drawIntervals(p, col(w, this.id, 'irq.start'), col(w, this.id, 'irq.end'), undefined, y + 19, 3, () => '#e65100');
    const density = col(w, this.id, 'density');
    const base = y + this.height - 1;
    ctx.fillStyle = '#455a64';
    if (density && w) {
      // Counts per pixel of the window they were made for, placed where those pixels fall now.
      let max = 0;
      for (const c of density) if (c > max) max = c;
      const perPx = (w.meta.t1 - w.meta.t0) / w.meta.px;
      for (let i = 0; i < density.length; i++) {
        if (!density[i]) continue;
        const x = p.vp.x(w.meta.t0 + i * perPx);
        if (x < LABEL_W || x > p.right) continue;
        const hh = densityHeight(density[i]!, max, 5);
        ctx.fillRect(x, base - hh, Math.max(1, p.vp.x(w.meta.t0 + (i + 1) * perPx) - x), hh);
      }
    }
    const ts = col(w, this.id, 'ev.ts');
    if (ts) {
      let lastX = -1;
      for (let i = 0; i < ts.length; i++) {
        const x = Math.floor(p.vp.x(ts[i]!));
        if (x === lastX || x < LABEL_W || x > p.right) continue;
        lastX = x;
        ctx.fillRect(x, base - 5, 1, 5);
      }
    }
    drawLost(p, this.info, y, this.height);
  }
}

export class ThreadTrack extends Track {
  readonly height = 16;
  readonly id: string;
  constructor(
    readonly info: ThreadInfo,
    underProcess: boolean,
  ) {
    super();
    this.id = `thread:${info.pid}`;
    this.indent = underProcess ? 12 : 0;
  }
  label(): string {
    return `${this.info.comm}:${this.info.pid}`;
  }
  override wants(): string[] {
    return [this.id];
  }
  override shade(): string {
    return this.info.pid % 2 ? '#fff' : '#f7f7f7';
  }
  draw(p: Paint, y: number): void {
    const c = colorOf(this.info.pid);
    p.ctx.font = '10px system-ui';
    drawIntervals(p, col(p.win, this.id, 'run.start'), col(p.win, this.id, 'run.end'), col(p.win, this.id, 'run.cpu'), y + 2, this.height - 4, () => c, (cpu) => `CPU ${cpu}`);
  }
}

/** A header row whose members a click on its label folds away. */
abstract class FoldTrack extends Track {
  readonly height = 18;
  open = true;
  protected abstract title(): string;
  label(): string {
    return `${this.open ? '▾' : '▸'} ${this.title()}`;
  }
  draw(): void {}
}

/** A thread group's header: name and threads ("?": the trace does not show the group). */
export class ProcessTrack extends FoldTrack {
  readonly id: string;
  constructor(readonly info: ProcessInfo) {
    super();
    this.id = `process:${info.pid}`;
  }
  protected title(): string {
    const n = this.info.threads.length;
    return `${this.info.comm || '?'} ${this.info.pid}${n > 1 ? ` (${n} threads)` : ''}${this.info.known ? '' : ' ?'}`;
  }
  override shade(): string {
    return '#e3f2fd';
  }
}

/** A buffer's header when the trace has several buffers. */
export class GroupTrack extends FoldTrack {
  readonly id: string;
  constructor(readonly name: string) {
    super();
    this.id = `buffer:${name}`;
  }
  protected title(): string {
    return `buffer ${this.name || '(top level)'}`;
  }
  override shade(): string {
    return '#ede7f6';
  }
}

/** trace_marker writes and maskset switches, labelled where they fit. */
export class MarkerTrack extends Track {
  readonly id: string = 'markers';
  readonly height: number = 30;
  label(): string {
    return this.id;
  }
  draw(p: Paint, y: number): void {
    const { ctx, vp } = p;
    const vis = p.meta.markers.filter((m) => vp.x(m.ts) >= LABEL_W && vp.x(m.ts) <= p.right);
    ctx.font = '10px system-ui';
    const xs = vis.map((m) => vp.x(m.ts));
    const lines = layoutLabels(xs, vis.map((m) => Math.min(160, ctx.measureText(m.text).width)), 2);
    vis.forEach((m, i) => {
      const sw = m.text.startsWith('lkst: maskset');
      ctx.fillStyle = sw ? '#6a1b9a' : '#1565c0';
      ctx.fillRect(xs[i]!, y, sw ? 2 : 1, this.height);
      if (lines[i]! >= 0) ctx.fillText(fitText(m.text, 160), xs[i]! + 3, y + 11 + lines[i]! * 12);
    });
  }
}

/** The analyses' findings: red when certain, grey with "?" when the trace cannot prove them. */
export class FindingTrack extends MarkerTrack {
  override readonly id = 'findings';
  override readonly height = 18;
  override draw(p: Paint, y: number): void {
    const { ctx, vp } = p;
    ctx.font = 'bold 10px system-ui';
    for (const f of p.findings) {
      const x = vp.x(f.ts - p.meta.start);
      if (x < LABEL_W || x > p.right) continue;
      ctx.fillStyle = f.uncertain ? '#9e9e9e' : '#d32f2f';
      ctx.beginPath();
      ctx.moveTo(x, y + 2);
      ctx.lineTo(x - 5, y + 12);
      ctx.lineTo(x + 5, y + 12);
      ctx.fill();
      if (f.uncertain) ctx.fillText('?', x + 6, y + 12);
    }
  }
}
