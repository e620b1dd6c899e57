export type { SmcccGuestCpu } from './cpu.js';
export {
  hasPvStealClock,
  type PvStealClockProbe,
  type PvTimeProbeStep,
} from './probe.js';
export {
  initStealClock,
  readStolenTime,
  type StealClock,
  type StealClockInit,
  StealClocks,
} from './steal-clock.js';
