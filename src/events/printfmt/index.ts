export { compileEvent, EventRenderers, rawFields, renderToString, type CompiledEvent, type CompileOptions } from './event.js';
export { CommTable, emptyContext, type RenderContext } from './context.js';
export { parsePrintFmt, PrintFmtError } from './parser.js';
export { TextWriter } from './writer.js';
export type { Piece } from './compile.js';
