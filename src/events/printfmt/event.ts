/** One event format compiled into the function that renders a record's text as trace-cmd shows it. */
import type { EventFormat } from '../format.js';
import type { RenderContext } from './context.js';
import { compileSegments, joinPieces, rawFieldPiece, splitFormat, wrap, type Piece } from './compile.js';
import { parsePrintFmt, PrintFmtError } from './parser.js';
import { pluginFor } from './plugins.js';
import { TextWriter } from './writer.js';

export interface CompiledEvent {
  fmt: EventFormat;
  /** Why libtraceevent (and so this) cannot render the print format; the text is then the raw fields. */
  failure?: string;
  /** A trace-cmd plugin renders this event. */
  plugin: boolean;
  /** Writes the event's text (what follows "name: " in trace-cmd report). */
  render: Piece;
  /** The event's own print format alone, without any plugin. */
  pretty: Piece;
}

export interface CompileOptions {
  /** Use trace-cmd's plugin renderings (default true). */
  plugins?: boolean;
}

/** " name=value" for every field, as libtraceevent prints an event it failed to parse. */
export function rawFields(fmt: EventFormat): Piece {
  return joinPieces(
    fmt.fields.map((f) => {
      const label = ` ${f.name}=`;
      const raw = rawFieldPiece(fmt, f);
      return (b: Buffer, o: number, l: number, c: RenderContext, w: TextWriter) => w.str(label + raw(b, o, l, c));
    }),
  );
}

export function compileEvent(fmt: EventFormat, opts: CompileOptions = {}): CompiledEvent {
  let pretty: Piece;
  let failure: string | undefined;
  try {
    const parsed = parsePrintFmt(fmt);
    pretty = compileSegments(splitFormat(parsed.format, parsed.args));
  } catch (err) {
    if (!(err instanceof PrintFmtError)) throw err;
    failure = err.message;
    const raw = rawFields(fmt);
    pretty = (b, o, l, c, w) => {
      w.str('[FAILED TO PARSE]');
      raw(b, o, l, c, w);
    };
  }
  const plugin = opts.plugins === false ? undefined : pluginFor(fmt, () => pretty);
  let render = pretty;
  if (plugin) {
    const p = typeof plugin.write === 'function' ? plugin.write : wrap(plugin.piece!);
    render = plugin.thenPretty ? joinPieces([p, pretty]) : p;
  }
  return { fmt, failure, plugin: !!plugin, render, pretty };
}

const scratch = new TextWriter(1 << 12);

/** A record's text as a string (for callers that want one line at a time). */
export function renderToString(ev: CompiledEvent, b: Buffer, off: number, len: number, ctx: RenderContext): string {
  ev.render(b, off, len, ctx, scratch);
  return scratch.take();
}

/** Compiled events of one trace, compiled on first use. */
export class EventRenderers {
  private readonly cache = new Map<number, CompiledEvent>();
  constructor(
    private readonly lookup: (id: number) => EventFormat | undefined,
    private readonly opts: CompileOptions = {},
  ) {}

  get(id: number): CompiledEvent | undefined {
    let c = this.cache.get(id);
    if (c) return c;
    const fmt = this.lookup(id);
    if (!fmt) return undefined;
    c = compileEvent(fmt, this.opts);
    this.cache.set(id, c);
    return c;
  }
}
