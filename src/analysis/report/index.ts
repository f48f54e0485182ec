export { runReport, reportTrace, renderContextOf, type ReportOptions, type ReportSummary } from './report.js';
export type { ReportOutput } from './sink.js';
export { decodeFile, decodeTrace, type TypedRecord } from './decode.js';
