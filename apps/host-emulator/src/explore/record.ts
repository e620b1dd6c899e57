/**
 * Recording and replaying schedules. A schedule is its choice list: the vCPU picked at each
 * decision with at least two runnable vCPUs (picks with one runnable vCPU are forced and are
 * not stored). Replaying the list re-runs the same picks whichever strategy made them.
 */
import type { ScheduleStrategy } from './strategy.js';

/** The choice-list value that means "the default pick" (see `defaultPick`). */
export const DEFAULT_CHOICE = -1;

/** Wraps a strategy: records every decision with ≥ 2 runnable (the choice list), counts preemptions. */
export class RecordingStrategy implements ScheduleStrategy {
  readonly #inner: ScheduleStrategy;
  /** The VP chosen at each ≥ 2-runnable decision, in order. */
  readonly choices: number[] = [];
  /**
   * `choices` with −1 wherever the pick was the default one (`defaultPick`): replaying it gives
   * the same run, and only its other entries (the real choices) are worth editing when shrinking.
   */
  readonly defaulted: number[] = [];
  /** Decisions where `previous` was runnable and another VP was chosen. */
  preemptions = 0;
  /** All `pick()` calls. */
  decisions = 0;

  constructor(inner: ScheduleStrategy) {
    this.#inner = inner;
  }

  pick(runnable: readonly number[], previous: number | undefined, yielded: boolean): number {
    const vp = this.#inner.pick(runnable, previous, yielded);
    this.decisions++;
    if (runnable.length > 1) {
      this.choices.push(vp);
      this.defaulted.push(vp === defaultPick(runnable, previous, yielded) ? DEFAULT_CHOICE : vp);
      // Leaving a vCPU that yielded is not a preemption: it asked to let another run.
      if (previous !== undefined && vp !== previous && !yielded && runnable.includes(previous))
        this.preemptions++;
    }
    return vp;
  }
}

/**
 * The pick replay makes when the list has no usable choice: `previous` when it is runnable and
 * did not yield; else the next runnable vCPU after it in VP order, wrapping (a vCPU spinning
 * with PAUSE lets the others run in turn, so a default never livelocks a spin-wait); else the
 * lowest runnable.
 */
export function defaultPick(
  runnable: readonly number[],
  previous: number | undefined,
  yielded = false,
): number {
  if (previous === undefined) return runnable[0]!;
  if (!yielded && runnable.includes(previous)) return previous;
  return runnable.find((vp) => vp > previous) ?? runnable[0]!;
}

/**
 * Replays a choice list: decision i (counting only ≥ 2-runnable decisions) takes choices[i] when
 * it is runnable; otherwise, and past the end, and for the value -1, the default (`defaultPick`:
 * keep running `previous` unless it yielded; spec 08 rule 15: an edit that made a choice
 * impossible falls back to the default, so every candidate can really occur). `divergences`
 * counts decisions where a recorded VP (≠ −1) was not runnable.
 */
export function replayStrategy(
  choices: readonly number[],
): ScheduleStrategy & { readonly divergences: number; readonly replayed: number } {
  let index = 0;
  let divergences = 0;
  return {
    get divergences() {
      return divergences;
    },
    /** The ≥ 2-runnable decisions made so far (fewer than `choices.length`: the run ended early). */
    get replayed() {
      return index;
    },
    pick(runnable, previous, yielded) {
      if (runnable.length === 1) return runnable[0]!;
      const choice = index < choices.length ? choices[index]! : DEFAULT_CHOICE;
      index++;
      if (choice !== DEFAULT_CHOICE) {
        if (runnable.includes(choice)) return choice;
        divergences++;
      }
      return defaultPick(runnable, previous, yielded);
    },
  };
}
