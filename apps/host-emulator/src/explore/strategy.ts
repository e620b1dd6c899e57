/**
 * Scheduling strategies for seeded runs: at each exit the engine asks the strategy which of the
 * runnable vCPUs runs the next segment. Both strategies are pure functions of their options and
 * of the sequence of calls, so a (seed, strategy, depth, steps) tuple names one schedule.
 *
 * `random` is the uniform choice seeded runs have always made (spec 08 rule 8).
 *
 * `pct` is probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
 * ASPLOS 2010; spec 08 rules 1–3, 5–7, 16). A bug of depth d (the fewest ordering constraints
 * that force it) is hit with probability at least 1/(n·k^(d−1)) per run, where n is the number
 * of vCPUs and k the number of decisions (`steps`). A decision is a pick with at least two
 * runnable vCPUs: picks with one runnable vCPU are not choices and are not counted (rule 3).
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export type StrategyName = 'random' | 'pct';

/** The strategy names the `explore` command accepts, in the order it lists them. */
export const STRATEGY_NAMES: readonly StrategyName[] = ['random', 'pct'];

/** What the engine asks at each scheduling decision. */
export interface ScheduleStrategy {
  /**
   * The next vCPU among `runnable` (VP numbers, ascending, non-empty). `previous` is the vCPU
   * that ran the last segment (undefined before the first); `yielded` is true when previous's
   * last exit was a yield hint (PAUSE, HvCallNotifyLongSpinWait) — spec 08 rules 5 and 7.
   */
  pick(runnable: readonly number[], previous: number | undefined, yielded: boolean): number;
}

type Rng = ReturnType<typeof xoroshiro128plus>;

/**
 * Today's seeded choice: uniform over the runnable vCPUs, one draw only when there are at least
 * two (so existing seeds keep their traces); yield hints are ignored (spec 08 rule 8).
 */
export function randomStrategy(seed: number): ScheduleStrategy {
  const rng = xoroshiro128plus(seed | 0);
  return {
    pick(runnable) {
      const i = runnable.length === 1 ? 0 : uniformInt(rng, 0, runnable.length - 1);
      return runnable[i]!;
    },
  };
}

export interface PctOptions {
  /** Seeds every draw (initial priorities and change points). */
  readonly seed: number;
  /** d: the bug depth targeted; d − 1 priority change points per run. */
  readonly depth: number;
  /** k: the decisions (picks with ≥ 2 runnable) the change points are drawn from, 1..k. */
  readonly steps: number;
  /** n: the vCPUs of the run; VP numbers are 0..n−1. */
  readonly vcpus: number;
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`pct ${name} = ${String(value)}: accepted: an integer ≥ 1`);
  }
}

/** A uniform permutation of `values` (Fisher–Yates, from the back). */
function shuffle(rng: Rng, values: number[]): number[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

/** `count` distinct integers drawn uniformly from 1..max (Floyd's algorithm: `count` draws). */
function sampleDistinct(rng: Rng, count: number, max: number): number[] {
  const chosen = new Set<number>();
  for (let j = max - count + 1; j <= max; j++) {
    const t = uniformInt(rng, 1, j);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}

/**
 * PCT over the vCPUs. Priorities: higher runs first. The n vCPUs get a random permutation of
 * d..d+n−1, above the d−1 values reserved for change points. The change points are min(d−1, k)
 * distinct decision indices drawn from 1..k (decision 1 is the first pick with ≥ 2 runnable).
 * At a change point `previous` drops below every vCPU; a `yielded` previous does too (rule 5).
 * Both take the next value of one falling counter, as shuttle does: whichever happened last is
 * lowest. So a change point can put a vCPU below one spinning on it, and the spinner's next
 * look at shared memory sees the other half-way through — the interleavings spin-wait bugs need
 * (a spinner cannot livelock there: its next yield drops it below again). The paper's own
 * numbering is not verified (spec 08 rule 1). A change point at a decision with no `previous`
 * (the very first pick) has nobody to drop and does nothing. A vCPU that is not runnable keeps
 * its priority (rule 2), so when it wakes it preempts a lower-priority one: with depth 1 (no
 * change points) the highest-priority runnable vCPU always runs, and the previous vCPU keeps
 * running while it is runnable, does not yield and no higher-priority vCPU wakes.
 */
export function pctStrategy(options: PctOptions): ScheduleStrategy {
  const { vcpus } = options;
  const { priorities: priority, changePoints } = pctPlan(options);
  const changes = new Set(changePoints);
  let decisions = 0;
  // Below the initial priorities (d..) and the d−1 reserved values (1..d−1): the next drop's value.
  let lowest = 0;
  return {
    pick(runnable, previous, yielded) {
      const last = runnable[runnable.length - 1];
      if (last === undefined || runnable[0]! < 0 || last >= vcpus) {
        throw new RangeError(`pct pick: runnable [${runnable.join(', ')}] is not within 0..${vcpus - 1}`);
      }
      if (runnable.length === 1) return last;
      decisions++;
      if (previous !== undefined && (yielded || changes.has(decisions))) priority[previous] = lowest--;
      let best = runnable[0]!;
      for (const vp of runnable) if (priority[vp]! > priority[best]!) best = vp;
      return best;
    },
  };
}

/**
 * What `pctStrategy` draws from the seed, in this order: the initial priority of each VP
 * (index = VP number) and the change points (ascending decision indices).
 */
export function pctPlan(options: PctOptions): { priorities: number[]; changePoints: number[] } {
  const { seed, depth, steps, vcpus } = options;
  checkCount('depth', depth);
  checkCount('steps', steps);
  checkCount('vcpus', vcpus);
  const rng = xoroshiro128plus(seed | 0);
  const priorities = shuffle(
    rng,
    Array.from({ length: vcpus }, (_, vp) => depth + vp),
  );
  return { priorities, changePoints: sampleDistinct(rng, Math.min(depth - 1, steps), steps) };
}
