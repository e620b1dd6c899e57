import type { TimingOptions } from '../suite.js';

/** Calls per timed sample: round-trip rows (~0.2–5 µs a call), and the scaling sweep (up to ~100 µs). */
export const ROUND_TRIP_BATCH = 200;
export const POSTMESSAGE_BATCH = 20;
export const SCALING_BATCH = 32;

/** A run that is still going this long after its budget failed: never let the bench hang. */
export const OVERRUN_MS = 20_000;

/** When a run that starts now has overrun its warmup and sampling time. */
export function deadlineFor(timing: TimingOptions): number {
  return performance.now() + timing.warmupMs + timing.timeMs + OVERRUN_MS;
}

/** Fails the run once its deadline has passed. */
export function overrun(deadline: number, what: string): void {
  if (performance.now() > deadline) throw new Error(`threaded: ${what} did not finish in time`);
}
