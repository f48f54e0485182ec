/** One event format compiled into the function that renders a record's text as trace-cmd shows it. */
import type { EventFormat } from '../format.js';
import { compileSegments, joinPieces, rawFieldPiece, splitFormat, type Piece } from './compile.js';
import { parsePrintFmt, PrintFmtError } from './parser.js';
import { pluginFor } from './plugins.js';

export interface CompiledEvent {
  fmt: EventFormat;
  /** Why libtraceevent (and so this) cannot render the print format; the text is then the raw fields. */
  failure?: string;
  /** A trace-cmd plugin renders this event. */
  plugin: boolean;
  /** The event's text (what follows "name: " in trace-cmd report). */
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
  const pieces: Piece[] = [];
  for (const f of fmt.fields) {
    const label = ` ${f.name}=`;
    const raw = rawFieldPiece(fmt, f);
    pieces.push((b, o, l, c) => label + raw(b, o, l, c));
  }
  return joinPieces(pieces);
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
    pretty = (b, o, l, c) => '[FAILED TO PARSE]' + raw(b, o, l, c);
  }
  const plugin = opts.plugins === false ? undefined : pluginFor(fmt, () => pretty);
  let render = pretty;
  if (plugin) {
    const p = plugin.piece;
    render = plugin.thenPretty ? joinPieces([p, pretty]) : p;
  }
  return { fmt, failure, plugin: !!plugin, render, pretty };
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
