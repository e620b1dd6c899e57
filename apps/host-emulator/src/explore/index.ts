// The engine-independent core of `pvlab-host explore`: strategies, recording and replay, the
// schedule file, shrinking and failure signatures.
export { DEFAULT_CHOICE, defaultPick, RecordingStrategy, replayStrategy } from './record.js';
export {
  encodeScheduleFile,
  PREEMPT_MODES,
  type PreemptMode,
  parseScheduleFile,
  SCHEDULE_FORMAT,
  SCHEDULE_VERSION,
  type ScheduleFailure,
  type ScheduleFile,
  ScheduleFileError,
} from './schedule-file.js';
export {
  betterRun,
  DEFAULT_MAX_SHRINK_RUNS,
  type ShrinkOptions,
  type ShrinkRun,
  shrinkSchedule,
} from './shrink.js';
export { failureSignature } from './signature.js';
export {
  type PctOptions,
  pctPlan,
  pctStrategy,
  randomStrategy,
  type ScheduleStrategy,
  STRATEGY_NAMES,
  type StrategyName,
} from './strategy.js';
