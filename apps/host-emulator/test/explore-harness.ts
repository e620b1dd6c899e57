import { fc } from '@fast-check/vitest';
import type { ScheduleStrategy } from '../src/explore/index.ts';

/** One scheduling point of a synthetic run: the runnable VPs and whether the last segment ended in a yield. */
export interface Step {
  readonly runnable: readonly number[];
  readonly yielded: boolean;
}

/** A non-empty ascending subset of 0..vcpus−1. */
export function runnableSet(vcpus: number): fc.Arbitrary<number[]> {
  return fc
    .uniqueArray(fc.integer({ min: 0, max: vcpus - 1 }), { minLength: 1, maxLength: vcpus })
    .map((vps) => vps.sort((a, b) => a - b));
}

/** A run's scheduling points, with the vCPU count they range over. */
export function steps(options: { maxVcpus?: number; maxLength?: number } = {}) {
  return fc.integer({ min: 1, max: options.maxVcpus ?? 8 }).chain((vcpus) =>
    fc.record({
      vcpus: fc.constant(vcpus),
      steps: fc.array(fc.record({ runnable: runnableSet(vcpus), yielded: fc.boolean() }), {
        maxLength: options.maxLength ?? 200,
      }),
    }),
  );
}

/** Drives `strategy` through `run` as the engine does (previous = the last pick); the picks. */
export function drive(strategy: ScheduleStrategy, run: readonly Step[]): number[] {
  const picks: number[] = [];
  let previous: number | undefined;
  for (const { runnable, yielded } of run) {
    const vp = strategy.pick(runnable, previous, previous !== undefined && yielded);
    picks.push(vp);
    previous = vp;
  }
  return picks;
}

/**
 * A synthetic program: each of `vcpus` VPs executes `length` steps; every unfinished VP is
 * runnable; the strategy picks which executes its next step. Returns the order of (vp, step).
 */
export function interleave(strategy: ScheduleStrategy, vcpus: number, length: number): [number, number][] {
  const done = new Array<number>(vcpus).fill(0);
  const order: [number, number][] = [];
  let previous: number | undefined;
  for (;;) {
    const runnable = done.flatMap((n, vp) => (n < length ? [vp] : []));
    if (runnable.length === 0) return order;
    const vp = strategy.pick(runnable, previous, false);
    order.push([vp, done[vp]!++]);
    previous = vp;
  }
}
