export {
  type ChromeTrace,
  type CompleteEvent,
  type InstantEvent,
  type MetadataEvent,
  stringifyTrace,
  TRACE_PID,
  type TraceArg,
  type TraceEvent,
  type TraceMeta,
  toChromeTrace,
  vcpuTid,
} from './chrome.js';
export type {
  GuestEvent,
  HaltEvent,
  HypercallEvent,
  InterruptEvent,
  MsrEvent,
  RunEvent,
} from './events.js';
export {
  createProgress,
  MIN_PROGRESS_COLUMNS,
  PROGRESS_DELAY_MS,
  type Progress,
  type ProgressOptions,
  type ProgressStream,
} from './progress.js';
export {
  type CallStats,
  clockNote,
  type FailedCallJson,
  failedCalls,
  formatSummaryTable,
  type HypercallSummary,
  type HypercallSummaryJson,
  type LatencyStats,
  type SummaryClock,
  summarizeHypercalls,
  summaryToJson,
} from './summary.js';
export { TraceWriteError, writeTraceFile } from './write.js';
