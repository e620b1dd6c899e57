export { GuestFault, isGuestFault } from '@pvlab/hypercall';
export type { GuestProgram, GuestProgramCpu } from '@pvlab/hypercall/guest';
export {
  type Diagnostic,
  type HypercallDescriptor,
  HypercallSuspended,
  isHypercallSuspended,
} from '@pvlab/hypercall/host';
export { HostAccessError, IsolationFault } from '@pvlab/isolation';
export type { HostMemoryView, IsolatedGuestMemory } from '@pvlab/isolation/host';
export {
  encodeScheduleFile,
  type PctOptions,
  parseScheduleFile,
  pctStrategy,
  RecordingStrategy,
  randomStrategy,
  replayStrategy,
  SCHEDULE_FORMAT,
  SCHEDULE_VERSION,
  type ScheduleFile,
  ScheduleFileError,
  type ScheduleStrategy,
  type StrategyName,
} from './explore/index.js';
export {
  HOSTILE_CORRUPTIONS,
  type HostileCorruption,
  HostileDevice,
  type HostileEvent,
} from './hostile-host.js';
export { INTERRUPT_EXIT_CODE, type InterruptSignal, RunInterrupted } from './interrupt.js';
export { type CreateVmOptions, MAX_VCPUS, type ResolvedVmOptions, VmOptionError } from './options.js';
export { OPTIONAL_PACKAGES } from './package-names.js';
export { type CliOutput, runPvlabHost } from './program.js';
export { restoreVm, restoreVmFile } from './restore.js';
export {
  parseSnapshot,
  readSnapshotFile,
  SNAPSHOT_FORMAT,
  SNAPSHOT_FORMAT_VERSION,
  SnapshotError,
  type VmSnapshot,
  writeSnapshotFile,
} from './snapshot.js';
export { runGuest } from './threaded/run.js';
export {
  type RunFailure,
  type RunGuestOptions,
  type RunProgress,
  type RunResult,
  ThreadedHostError,
} from './threaded/run-api.js';
export type { RunSchedule } from './threaded/scheduler.js';
export { VcpuThreadPool } from './threaded/thread-pool.js';
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
} from './trace/chrome.js';
export type {
  GuestEvent,
  HaltEvent,
  HypercallEvent,
  InterruptEvent,
  MsrEvent,
  RunEvent,
} from './trace/events.js';
export {
  createProgress,
  MIN_PROGRESS_COLUMNS,
  PROGRESS_DELAY_MS,
  type Progress,
  type ProgressOptions,
  type ProgressStream,
} from './trace/progress.js';
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
} from './trace/summary.js';
export { TraceWriteError, writeTraceFile } from './trace/write.js';
export { VirtualProcessor } from './virtual-processor.js';
export { ConformanceError, createVm, type IsolationVm, Vm } from './vm.js';
