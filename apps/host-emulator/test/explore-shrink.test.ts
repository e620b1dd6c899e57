import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  betterRun,
  RecordingStrategy,
  randomStrategy,
  replayStrategy,
  type ScheduleStrategy,
  type ShrinkRun,
  shrinkSchedule,
} from '../src/explore/index.ts';

/** A failure condition over the picks so far; the run stops as soon as it holds. */
type Oracle = (picks: readonly number[]) => boolean;

/**
 * A synthetic engine: `decisions` decisions over `vcpus` always-runnable VPs (VP `blocked` is
 * not runnable at even decisions, so choices can become impossible); the run stops failed as
 * soon as the oracle holds.
 */
function engine(vcpus: number, decisions: number, oracle: Oracle, blocked = -1) {
  return (strategy: ScheduleStrategy): ShrinkRun => {
    const recording = new RecordingStrategy(strategy);
    const picks: number[] = [];
    let previous: number | undefined;
    for (let d = 0; d < decisions; d++) {
      const runnable = Array.from({ length: vcpus }, (_, vp) => vp).filter(
        (vp) => vp !== blocked || d % 2 === 1,
      );
      previous = recording.pick(runnable, previous, false);
      picks.push(previous);
      if (oracle(picks)) return result(recording, true);
    }
    return result(recording, false);
  };
}

function result(r: RecordingStrategy, failed: boolean): ShrinkRun {
  return { failed, choices: r.choices, preemptions: r.preemptions, defaulted: r.defaulted };
}

/** The run without the defaults mask: the shrinker edits its plain choices. */
const plain = ({ defaulted: _, ...run }: ShrinkRun): ShrinkRun => run;

/** Fails iff VP 2 runs at a decision ≥ x and VP 1 runs at a later one. */
const twoThenOne =
  (x: number): Oracle =>
  (picks) => {
    const two = picks.indexOf(2, x);
    return two >= 0 && picks.indexOf(1, two + 1) > 0;
  };

/** Not monotonic: fails iff VP 1 runs at decision ≥ 5 after an even number (≥ 2) of switches. */
const evenSwitches: Oracle = (picks) => {
  let switches = 0;
  for (let i = 1; i < picks.length; i++) if (picks[i] !== picks[i - 1]) switches++;
  return picks.length > 5 && picks[picks.length - 1] === 1 && switches >= 2 && switches % 2 === 0;
};

/** The first seed's run that fails under `exec`. */
function firstFailure(exec: (s: ScheduleStrategy) => ShrinkRun): ShrinkRun {
  for (let seed = 0; seed < 10_000; seed++) {
    const r = exec(randomStrategy(seed));
    if (r.failed) return r;
  }
  throw new Error('no failing seed');
}

async function shrink(exec: (s: ScheduleStrategy) => ShrinkRun, start: ShrinkRun, maxRuns?: number) {
  const results: ShrinkRun[] = [];
  const candidates: (readonly number[])[] = [];
  const out = await shrinkSchedule(
    start,
    async (candidate) => {
      candidates.push(candidate);
      const r = exec(replayStrategy(candidate));
      results.push(r);
      return r;
    },
    maxRuns === undefined ? {} : { maxRuns },
  );
  return { ...out, results, candidates };
}

const withDefault = (choices: readonly number[], i: number) => choices.map((c, j) => (j === i ? -1 : c));

describe('shrinkSchedule', () => {
  test.prop(
    [fc.integer({ min: 0, max: 20 }), fc.integer({ min: 3, max: 5 }), fc.integer({ min: 0, max: 2 })],
    {
      numRuns: 30,
    },
  )(
    'a monotonic oracle: the result fails, has the fewest preemptions and is 1-minimal',
    async (x, vcpus, blockedPick) => {
      const blocked = [-1, 1, 2][blockedPick]!;
      const exec = engine(vcpus, 60, twoThenOne(x), blocked);
      const start = firstFailure(exec);
      const { best, runs, results, candidates } = await shrink(exec, start);
      expect(runs).toBe(candidates.length);
      expect(best === start || results.includes(best)).toBe(true); // a real run, not a candidate
      expect(exec(replayStrategy(best.choices))).toEqual(best);
      expect(best.failed).toBe(true);
      expect(best.preemptions).toBeLessThanOrEqual(start.preemptions);
      // Two preemptions suffice (to VP 2, then to VP 1), and 1-minimality leaves no other.
      // Fewer is possible only when the run starts on VP 2 (the first pick preempts nothing and
      // defaults keep VP 2 running) or VP 1 follows a blocked VP 2; shrinking only defaults
      // choices, and ddmin is greedy, so it need not find that one.
      if (blocked === 2 || start.choices[0] === 2) expect([1, 2]).toContain(best.preemptions);
      else expect(best.preemptions).toBe(2);
      // 1-minimal: defaulting any one real choice left gives no better failing run.
      const list = best.defaulted!;
      for (let i = 0; i < list.length; i++) {
        if (list[i] === -1) continue;
        const r = exec(replayStrategy(withDefault(list, i)));
        expect(r.failed && betterRun(r, best)).toBe(false);
      }
    },
  );

  test.prop([fc.integer({ min: 0, max: 20 }), fc.integer({ min: 3, max: 5 })], { numRuns: 20 })(
    'without the defaults mask it edits the plain choices: the result fails and is 1-minimal',
    async (x, vcpus) => {
      const full = engine(vcpus, 60, twoThenOne(x));
      const exec = (s: ScheduleStrategy) => plain(full(s));
      const start = firstFailure(exec);
      const { best } = await shrink(exec, start);
      expect(best.failed).toBe(true);
      expect(best.preemptions).toBeLessThanOrEqual(start.preemptions);
      for (let i = 0; i < best.choices.length; i++) {
        const r = exec(replayStrategy(withDefault(best.choices, i)));
        expect(r.failed && betterRun(r, best)).toBe(false);
      }
    },
  );

  it('a non-monotonic oracle: the result still fails and is no worse', async () => {
    const exec = engine(4, 40, evenSwitches);
    for (let seed = 0; seed < 20; seed++) {
      const start = exec(randomStrategy(seed));
      if (!start.failed) continue;
      const { best } = await shrink(exec, start);
      expect(exec(replayStrategy(best.choices))).toEqual(best);
      expect(best.failed).toBe(true);
      expect(best.preemptions <= start.preemptions).toBe(true);
      if (best.preemptions === start.preemptions) {
        expect(best.choices.length).toBeLessThanOrEqual(start.choices.length);
      }
    }
  });

  test.prop([fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 10 })], { numRuns: 40 })(
    'never makes more than maxRuns runs, and is deterministic',
    async (maxRuns, x) => {
      const exec = engine(4, 50, twoThenOne(x));
      const start = firstFailure(exec);
      const a = await shrink(exec, start, maxRuns);
      const b = await shrink(exec, start, maxRuns);
      expect(a.runs).toBeLessThanOrEqual(maxRuns);
      expect(a.candidates).toHaveLength(a.runs);
      expect(b.candidates).toEqual(a.candidates);
      expect(b.best).toEqual(a.best);
    },
  );

  it('continues from the recorded choices of a kept run, not from the candidate', async () => {
    const exec = engine(4, 50, twoThenOne(10));
    const start = firstFailure(exec);
    const { candidates, results } = await shrink(exec, start);
    // Every candidate is a previous best list (a recording: no -1) with some entries defaulted.
    const bests = [start, ...results.filter((r) => r.failed)].map((r) => r.choices);
    for (const c of candidates) {
      const from = bests.some((b) => c.length <= b.length && c.every((v, i) => v === -1 || v === b[i]));
      expect(from).toBe(true);
    }
    for (const b of bests) expect(b).not.toContain(-1);
  });

  it('returns a passing start unchanged without running anything', async () => {
    const start: ShrinkRun = { failed: false, choices: [1, 2], preemptions: 1 };
    let calls = 0;
    const out = await shrinkSchedule(start, async () => {
      calls++;
      return start;
    });
    expect(out).toEqual({ best: start, runs: 0 });
    expect(calls).toBe(0);
  });

  it.each([-1, 1.5])('refuses maxRuns %d with a RangeError', async (maxRuns) => {
    const start: ShrinkRun = { failed: true, choices: [1], preemptions: 1 };
    await expect(shrinkSchedule(start, async () => start, { maxRuns })).rejects.toThrow(
      new RangeError(`shrink maxRuns = ${maxRuns}: accepted: an integer ≥ 0`),
    );
  });
});
