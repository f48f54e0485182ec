/** Exporters: each streams a trace into one file. */
export { withSink, FileSink } from './file-sink.js';
export { exportPerfetto } from './perfetto.js';
export { exportChromeJson } from './chrome-json.js';
export { exportCsv } from './csv.js';
export { exportParquet } from './parquet.js';
