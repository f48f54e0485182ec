/** The analysis library: open a trace, stream its events, and the analyses behind the commands. */
export { openTrace, withTrace, type OpenedTrace } from './open.js';
export { analysisInput, type TraceInput } from './input.js';
export { TraceEvent, toJsonText, jsonRecord, type EventRecord } from './event.js';
export { forEachEvent, firstEventTs, type StreamVisitor } from './stream.js';
export { Pass, type Analysis } from './pass.js';
export { SchedModel, type Task, type CpuNow, type RunState, type SchedHooks } from './sched-model.js';
export { traceStats, StatsAnalysis, type TraceStats } from './stats.js';
export { stateAt, type StateAt } from './state.js';
export { analyzeLatency, LatencyAnalysis, type LatencyReport } from './latency.js';
export { analyzeTimers, TimerAnalysis, type TimerReport, type TimerFinding, type TimerLife } from './timers.js';
export { MarkerAnalysis, type Marker, type MasksetSwitch } from './markers.js';
export { LossLog, scanLosses, describeLosses, type Loss } from './losses.js';
export { openTraceDb, describeTables, type TraceDb } from './query/database.js';
export { runQuery, type QueryFormat } from './query/run.js';
export { parseTraceTime, fmtTs, fmtDur } from './time.js';
