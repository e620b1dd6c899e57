import { describe, expect, it } from 'vitest';
import { medianRounds, type RoundRow } from '../src/suite.ts';

const row = (id: string, ops: number, samples: number, bytesPerOp: number | null = null): RoundRow => ({
  id,
  name: id,
  opsPerSecMedian: ops,
  opsPerSecMean: ops * 0.9,
  rmePercent: samples / 100,
  nsPerOpMedian: 1e9 / ops,
  bytesPerOp,
  bytesPerSecMedian: bytesPerOp === null ? null : bytesPerOp * ops,
  samples,
  batch: 10,
});

describe('medianRounds', () => {
  it("reports each case's median round, every round's median and their spread", () => {
    const rounds = [
      [row('a', 100, 1), row('b', 1000, 11, 8)],
      [row('a', 300, 2), row('b', 3000, 12, 8)],
      [row('a', 200, 3), row('b', 500, 13, 8)],
    ];
    const [a, b] = medianRounds(rounds);
    expect(a).toMatchObject({
      id: 'a',
      opsPerSecMedian: 200,
      nsPerOpMedian: 1e9 / 200,
      opsPerSecMean: 180,
      samples: 3,
      roundMedians: [100, 300, 200],
      opsPerSecMin: 100,
      opsPerSecMax: 300,
      medianRound: 2,
    });
    expect(b).toMatchObject({
      opsPerSecMedian: 1000,
      bytesPerSecMedian: 8000,
      samples: 11,
      roundMedians: [1000, 3000, 500],
      opsPerSecMin: 500,
      opsPerSecMax: 3000,
      medianRound: 0,
    });
  });

  it('averages the two middle rounds of an even count and shows the lower one', () => {
    const [a] = medianRounds([
      [row('a', 100, 1)],
      [row('a', 400, 2)],
      [row('a', 200, 3)],
      [row('a', 300, 4)],
    ]);
    expect(a!.opsPerSecMedian).toBe(250);
    expect(a!.medianRound).toBe(2);
    expect(a!.samples).toBe(3);
  });

  it('keeps one round as it is', () => {
    const [a] = medianRounds([[row('a', 123, 7)]]);
    expect(a).toEqual({
      ...row('a', 123, 7),
      roundMedians: [123],
      opsPerSecMin: 123,
      opsPerSecMax: 123,
      medianRound: 0,
    });
  });
});
