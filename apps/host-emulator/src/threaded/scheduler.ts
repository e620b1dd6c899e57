import { RecordingStrategy } from '../explore/record.js';
import { randomStrategy, type ScheduleStrategy } from '../explore/strategy.js';

/** Virtual time a vCPU runs between two exits, in µs (seeded runs). */
export const VIRTUAL_SEGMENT_US = 1;
/** Virtual time the host takes to complete one exit, in µs (seeded runs). */
export const VIRTUAL_EXIT_US = 0.5;

/** The schedule a seeded run followed: the choice list and what it cost. */
export interface RunSchedule {
  /** The vCPU picked at each decision with ≥ 2 runnable vCPUs (a replay's input). */
  readonly choices: readonly number[];
  /** `choices` with −1 wherever the pick was what a replay does by default (it replays the same). */
  readonly defaulted: readonly number[];
  /** Decisions where the vCPU that ran last could have gone on and another was picked. */
  readonly preemptions: number;
  /** Every pick, forced ones included. */
  readonly decisions: number;
}

/**
 * The seeded scheduler: one vCPU at a time holds the right to run until its next exit; which
 * one the strategy picks among the runnable ones (by default the seed's uniform choice). Time is
 * a virtual clock that advances a fixed amount per guest segment and per exit, so the same seed
 * and strategy give the same trace. Every pick is recorded, so any run can be replayed.
 */
export class SeededScheduler {
  readonly seed: number;
  readonly #recording: RecordingStrategy;
  /** The virtual clock, µs since the start of the run. */
  now = 0;

  constructor(seed: number, strategy: ScheduleStrategy = randomStrategy(seed)) {
    this.seed = seed;
    this.#recording = new RecordingStrategy(strategy);
  }

  /**
   * Picks the next vCPU to run among `runnable` (sorted ascending, non-empty); `previous` ran
   * the last segment, `yielded` when its exit was a yield hint (PAUSE, NotifyLongSpinWait).
   */
  pick(runnable: readonly number[], previous: number | undefined, yielded: boolean): number {
    return this.#recording.pick(runnable, previous, yielded);
  }

  get schedule(): RunSchedule {
    const r = this.#recording;
    return { choices: r.choices, defaulted: r.defaulted, preemptions: r.preemptions, decisions: r.decisions };
  }
}
