export { compileEvent, EventRenderers, rawFields, type CompiledEvent, type CompileOptions } from './event.js';
export { CommTable, emptyContext, type RenderContext } from './context.js';
export { KernelSymbols, symbolText } from './symbols.js';
export { parsePrintFmt, PrintFmtError } from './parser.js';
export type { Piece } from './compile.js';
