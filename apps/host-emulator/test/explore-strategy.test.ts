import { fc, test } from '@fast-check/vitest';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, it } from 'vitest';
import { pctPlan, pctStrategy, randomStrategy } from '../src/explore/index.ts';
import { drive, interleave, type Step, steps } from './explore-harness.ts';

const seed = fc.integer({ min: 0, max: 0xffff_ffff });

describe('randomStrategy', () => {
  test.prop([seed, steps()])('picks what seeded runs have always picked for the same seed', (s, run) => {
    // The seeded scheduler's choice before strategies existed, spelled out: released seeds and
    // their traces must not change.
    const rng = xoroshiro128plus(s | 0);
    const expected = run.steps.map(
      (step) => step.runnable[step.runnable.length === 1 ? 0 : uniformInt(rng, 0, step.runnable.length - 1)],
    );
    expect(drive(randomStrategy(s), run.steps)).toEqual(expected);
  });

  test.prop([seed, steps()])('ignores yields and the previous vCPU (spec 08 rule 8)', (s, run) => {
    const strategy = randomStrategy(s);
    const picks = run.steps.map((step, i) => strategy.pick(step.runnable, i % 3, step.yielded));
    expect(picks).toEqual(drive(randomStrategy(s), run.steps));
  });
});

/**
 * An independent model of PCT's priority order: a list, highest first, in three parts:
 * the VPs at their initial priorities, the VPs dropped at change points (each later drop below
 * the earlier ones), the VPs that yielded (each later yield lowest). A decision runs the first
 * runnable VP of the list.
 */
function pctModel(
  options: { seed: number; depth: number; steps: number; vcpus: number },
  run: readonly Step[],
) {
  const plan = pctPlan(options);
  // The order PCT runs vCPUs in, highest first: the initial priorities, then whoever a change
  // point or a yield dropped, the latest drop last (one falling counter, as in shuttle).
  let order = [...plan.priorities.keys()].sort((a, b) => plan.priorities[b]! - plan.priorities[a]!);
  const picks: number[] = [];
  let previous: number | undefined;
  let decision = 0;
  for (const step of run) {
    let vp: number;
    if (step.runnable.length === 1) vp = step.runnable[0]!;
    else {
      decision++;
      if (previous !== undefined && (step.yielded || plan.changePoints.includes(decision))) {
        const dropped = previous;
        order = [...order.filter((v) => v !== dropped), dropped];
      }
      vp = order.find((v) => step.runnable.includes(v))!;
    }
    picks.push(vp);
    previous = vp;
  }
  return picks;
}

const pctOptions = (vcpus: number) =>
  fc.record({
    seed,
    depth: fc.integer({ min: 1, max: 6 }),
    steps: fc.integer({ min: 1, max: 60 }),
    vcpus: fc.constant(vcpus),
  });

describe('pctStrategy', () => {
  it.each([
    [{ depth: 0 }, 'pct depth = 0: accepted: an integer ≥ 1'],
    [{ steps: 0 }, 'pct steps = 0: accepted: an integer ≥ 1'],
    [{ vcpus: 0 }, 'pct vcpus = 0: accepted: an integer ≥ 1'],
    [{ depth: 1.5 }, 'pct depth = 1.5: accepted: an integer ≥ 1'],
    [{ steps: Number.NaN }, 'pct steps = NaN: accepted: an integer ≥ 1'],
  ])('refuses %j with a RangeError naming the value', (bad, message) => {
    const options = { seed: 1, depth: 2, steps: 10, vcpus: 2, ...bad };
    expect(() => pctStrategy(options)).toThrow(new RangeError(message));
  });

  test.prop([steps().chain((run) => fc.record({ run: fc.constant(run), options: pctOptions(run.vcpus) }))])(
    'follows the priority model: initial order, change points, yields, blocked VPs keep theirs',
    ({ run, options }) => {
      expect(drive(pctStrategy(options), run.steps)).toEqual(pctModel(options, run.steps));
    },
  );

  test.prop([steps().chain((run) => fc.record({ run: fc.constant(run), options: pctOptions(run.vcpus) }))])(
    'is a pure function of the options and the runnable sequence, and picks a runnable VP',
    ({ run, options }) => {
      const picks = drive(pctStrategy(options), run.steps);
      expect(drive(pctStrategy({ ...options }), run.steps)).toEqual(picks);
      picks.forEach((vp, i) => {
        expect(run.steps[i]!.runnable).toContain(vp);
      });
    },
  );

  test.prop([
    steps().chain((run) =>
      fc.record({ run: fc.constant(run), options: pctOptions(run.vcpus).map((o) => ({ ...o, depth: 1 })) }),
    ),
  ])(
    'depth 1 has no change points: the previous vCPU keeps running while runnable, unless a higher-priority one wakes',
    ({ run, options }) => {
      expect(pctPlan(options).changePoints).toEqual([]);
      const noYields = run.steps.map((s) => ({ ...s, yielded: false }));
      const picks = drive(pctStrategy(options), noYields);
      const { priorities } = pctPlan(options);
      picks.forEach((vp, i) => {
        const { runnable } = noYields[i]!;
        const previous = picks[i - 1];
        const woke = i > 0 && runnable.some((v) => !noYields[i - 1]!.runnable.includes(v));
        if (previous !== undefined && runnable.includes(previous) && !woke) expect(vp).toBe(previous);
        expect(priorities[vp]).toBe(Math.max(...runnable.map((v) => priorities[v]!)));
      });
    },
  );

  test.prop([
    pctOptions(1).chain((o) => fc.record({ o: fc.constant(o), vcpus: fc.integer({ min: 1, max: 64 }) })),
  ])(
    'draws distinct initial priorities above the d−1 reserved values and min(d−1, k) distinct change points in 1..k',
    ({ o, vcpus }) => {
      const plan = pctPlan({ ...o, vcpus });
      expect([...plan.priorities].sort((a, b) => a - b)).toEqual(
        Array.from({ length: vcpus }, (_, i) => o.depth + i),
      );
      expect(plan.changePoints).toHaveLength(Math.min(o.depth - 1, o.steps));
      expect(new Set(plan.changePoints).size).toBe(plan.changePoints.length);
      expect([...plan.changePoints].sort((a, b) => a - b)).toEqual(plan.changePoints);
      for (const c of plan.changePoints) expect(c >= 1 && c <= o.steps).toBe(true);
    },
  );

  it('draws every decision index as a change point and every VP first, across seeds', () => {
    const points = new Set<number>();
    const first = new Set<number>();
    for (let s = 0; s < 200; s++) {
      const plan = pctPlan({ seed: s, depth: 2, steps: 5, vcpus: 3 });
      points.add(plan.changePoints[0]!);
      first.add(plan.priorities.indexOf(Math.max(...plan.priorities)));
    }
    expect([...points].sort()).toEqual([1, 2, 3, 4, 5]);
    expect([...first].sort()).toEqual([0, 1, 2]);
  });

  it('a change point hands the CPU to the next priority; a blocked VP comes back at its own priority', () => {
    // Find a seed whose plan puts VP 1 first, VP 0 second, and its one change point at decision 4.
    const options = (s: number) => ({ seed: s, depth: 2, steps: 4, vcpus: 3 });
    let s = 0;
    for (; ; s++) {
      const { priorities, changePoints } = pctPlan(options(s));
      if (priorities[1] === 4 && priorities[0] === 3 && changePoints[0] === 4) break;
    }
    const all = { runnable: [0, 1, 2], yielded: false };
    const picks = drive(pctStrategy(options(s)), [
      all,
      { runnable: [0, 2], yielded: false }, // VP 1 blocked: VP 0 runs
      all, // VP 1 back: it has kept its priority
      all, // decision 4: VP 1 drops below everyone
      all,
    ]);
    expect(picks).toEqual([1, 0, 1, 0, 0]);
  });

  // PCT's guarantee: a depth-d bug is hit with probability ≥ 1/(n·k^(d−1)) per run. A synthetic
  // depth-2 bug: VP 1's step 2 runs between VP 0's steps 4 and 5 (two ordering constraints).
  it('hits a depth-2 bug at least as often as the PCT bound 1/(n·k) says', () => {
    const vcpus = 3;
    const length = 8;
    const k = vcpus * length; // at most this many decisions
    const runs = 2000;
    let hits = 0;
    for (let s = 0; s < runs; s++) {
      const order = interleave(pctStrategy({ seed: s, depth: 2, steps: k, vcpus }), vcpus, length);
      const at = (vp: number, step: number) => order.findIndex(([v, n]) => v === vp && n === step);
      if (at(0, 4) < at(1, 2) && at(1, 2) < at(0, 5)) hits++;
    }
    expect(hits / runs).toBeGreaterThanOrEqual(1 / (vcpus * k));
  });
});
