import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** Virtual time a vCPU runs between two exits, in µs (seeded runs). */
export const VIRTUAL_SEGMENT_US = 1;
/** Virtual time the host takes to complete one exit, in µs (seeded runs). */
export const VIRTUAL_EXIT_US = 0.5;

/**
 * The seeded scheduler: one vCPU at a time holds the right to run until its next exit; which
 * one is drawn from the seed among the runnable ones, in VP order. Time is a virtual clock that
 * advances a fixed amount per guest segment and per exit, so the same seed gives the same trace.
 */
export class SeededScheduler {
  readonly seed: number;
  readonly #rng: ReturnType<typeof xoroshiro128plus>;
  /** The virtual clock, µs since the start of the run. */
  now = 0;

  constructor(seed: number) {
    this.seed = seed;
    this.#rng = xoroshiro128plus(seed | 0);
  }

  /** Picks the next vCPU to run among `runnable` (sorted ascending, non-empty). */
  pick(runnable: readonly number[]): number {
    const i = runnable.length === 1 ? 0 : uniformInt(this.#rng, 0, runnable.length - 1);
    return runnable[i]!;
  }
}
