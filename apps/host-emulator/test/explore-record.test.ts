import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  pctStrategy,
  RecordingStrategy,
  randomStrategy,
  replayStrategy,
  type ScheduleStrategy,
} from '../src/explore/index.ts';
import { drive, interleave, steps } from './explore-harness.ts';

/** Any strategy the explorer can record: random or pct, from its options. */
const strategy = (vcpus: number): fc.Arbitrary<() => ScheduleStrategy> =>
  fc.oneof(
    fc.integer({ min: 0, max: 0xffff_ffff }).map((seed) => () => randomStrategy(seed)),
    fc
      .record({
        seed: fc.integer({ min: 0, max: 0xffff_ffff }),
        depth: fc.integer({ min: 1, max: 5 }),
        steps: fc.integer({ min: 1, max: 100 }),
      })
      .map((o) => () => pctStrategy({ ...o, vcpus })),
  );

describe('RecordingStrategy', () => {
  it('records the ≥ 2-runnable decisions and counts preemptions and all picks', () => {
    const inner: ScheduleStrategy = { pick: (runnable) => runnable[runnable.length - 1]! };
    const r = new RecordingStrategy(inner);
    const picks = drive(r, [
      { runnable: [0], yielded: false }, // forced: not a choice
      { runnable: [0, 1], yielded: false }, // 1 over a runnable 0: a preemption
      { runnable: [0, 1], yielded: false }, // 1 again
      { runnable: [0], yielded: false }, // forced
      { runnable: [1, 2], yielded: false }, // 0 not runnable: a switch, not a preemption
      { runnable: [0, 1, 2], yielded: false }, // 2 again
    ]);
    expect(picks).toEqual([0, 1, 1, 0, 2, 2]);
    expect(r.choices).toEqual([1, 1, 2, 2]);
    expect(r.defaulted).toEqual([1, -1, 2, -1]); // previous 0 not runnable: 1 was no default pick
    expect(r.preemptions).toBe(1);
    expect(r.decisions).toBe(6);
  });

  test.prop([steps().chain((run) => fc.record({ run: fc.constant(run), make: strategy(run.vcpus) }))])(
    'passes the inner strategy’s picks through unchanged',
    ({ run, make }) => {
      expect(drive(new RecordingStrategy(make()), run.steps)).toEqual(drive(make(), run.steps));
    },
  );
});

describe('replayStrategy', () => {
  it('takes a recorded choice when runnable, else the default: previous when runnable, else the lowest', () => {
    const replay = replayStrategy([2, -1, 5, 0]);
    const picks = drive(replay, [
      { runnable: [0, 1, 2], yielded: false }, // choice 2
      { runnable: [3], yielded: false }, // forced, not a decision
      { runnable: [1, 3], yielded: false }, // -1: previous 3 is runnable
      { runnable: [0, 1, 2], yielded: false }, // 5 is not runnable: previous 3 is not either → lowest
      { runnable: [1, 2], yielded: false }, // 0 is not runnable: previous 0 neither → lowest
      { runnable: [1, 2], yielded: false }, // past the end: previous 1
    ]);
    expect(picks).toEqual([2, 3, 3, 0, 1, 1]);
    expect(replay.divergences).toBe(2);
    expect(replay.replayed).toBe(5);
  });

  test.prop([steps().chain((run) => fc.record({ run: fc.constant(run), make: strategy(run.vcpus) }))])(
    'replaying a recorded choice list gives the same picks with no divergence',
    ({ run, make }) => {
      const recording = new RecordingStrategy(make());
      const picks = drive(recording, run.steps);
      const replay = replayStrategy(recording.choices);
      const again = new RecordingStrategy(replay);
      expect(drive(again, run.steps)).toEqual(picks);
      expect(replay.divergences).toBe(0);
      expect(again.choices).toEqual(recording.choices);
      const fromDefaulted = replayStrategy(recording.defaulted);
      expect(drive(fromDefaulted, run.steps)).toEqual(picks);
      expect(fromDefaulted.divergences).toBe(0);
      expect(again.preemptions).toBe(recording.preemptions);
    },
  );

  test.prop([
    fc
      .integer({ min: 1, max: 6 })
      .chain((vcpus) => fc.record({ vcpus: fc.constant(vcpus), make: strategy(vcpus) })),
  ])('replays a run whose runnable sets depend on the picks', ({ vcpus, make }) => {
    const recording = new RecordingStrategy(make());
    const order = interleave(recording, vcpus, 6);
    const replay = replayStrategy(recording.choices);
    expect(interleave(replay, vcpus, 6)).toEqual(order);
    expect(replay.divergences).toBe(0);
  });

  test.prop([steps(), fc.array(fc.integer({ min: -1, max: 9 }), { maxLength: 60 })])(
    'always picks a runnable VP, whatever the list',
    (run, choices) => {
      const picks = drive(replayStrategy(choices), run.steps);
      picks.forEach((vp, i) => {
        expect(run.steps[i]!.runnable).toContain(vp);
      });
    },
  );
});
