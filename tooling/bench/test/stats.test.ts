import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { median, medianIndex, quantile, rankTestP } from '../src/stats.ts';

const values = fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 40 });

describe('median', () => {
  it('is the middle value of an odd count, the mean of the two middle ones of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  test.prop([values])('lies between the smallest and the largest value, whatever the order', (v) => {
    const m = median(v);
    expect(m).toBeGreaterThanOrEqual(Math.min(...v));
    expect(m).toBeLessThanOrEqual(Math.max(...v));
    // === rather than toBe: the middle of [0, -0, …] may be either zero.
    expect(median([...v].reverse()) === m).toBe(true);
  });

  test.prop([values])('leaves its input as it was', (v) => {
    const copy = [...v];
    median(v);
    medianIndex(v);
    quantile(v, 0.5);
    expect(v).toEqual(copy);
  });
});

describe('medianIndex', () => {
  it('points at the median value, or at the lower middle one of an even count', () => {
    expect(medianIndex([30, 10, 20])).toBe(2);
    expect(medianIndex([40, 10, 30, 20])).toBe(3);
    expect(medianIndex([])).toBe(-1);
  });

  test.prop([values.filter((v) => v.length % 2 === 1)])('of an odd count is the median', (v) => {
    expect(v[medianIndex(v)] === median(v)).toBe(true);
  });
});

describe('quantile', () => {
  it('takes the value at rank ⌊q·n⌋ without interpolating', () => {
    const v = [5, 1, 4, 2, 3, 6, 8, 7, 10, 9];
    expect(quantile(v, 0)).toBe(1);
    expect(quantile(v, 0.1)).toBe(2);
    expect(quantile(v, 0.5)).toBe(6);
    expect(quantile(v, 0.99)).toBe(10);
    expect(quantile(v, 1)).toBe(10);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('rankTestP', () => {
  it('gives the exact one-sided Mann–Whitney p', () => {
    // 5 a side, complete separation: one split of C(10, 5) = 252.
    expect(rankTestP([6, 7, 8, 9, 10], [1, 2, 3, 4, 5])).toBe(1 / 252);
    // U = 4 pairs the other way round, the 5-a-side critical value at 0.05: 12 splits of 252.
    expect(rankTestP([1.5, 6, 7, 8, 9], [1, 2, 3, 4, 5])).toBeCloseTo(12 / 252, 12);
    // U = 5: 19 of 252, above 0.05.
    expect(rankTestP([1.5, 4.5, 8, 9, 10], [1, 2, 3, 4, 5])).toBeCloseTo(19 / 252, 12);
    // 3 a side: never below 1/20.
    expect(rankTestP([10, 11, 12], [1, 2, 3])).toBe(1 / 20);
    // The wrong way round: certain.
    expect(rankTestP([1, 2, 3], [10, 11, 12])).toBe(1);
    expect(rankTestP([], [1])).toBe(1);
  });

  it('counts a tie as half a pair, rounded against a verdict', () => {
    // U = ½ counts as 1: P(U ≤ 1) of 3 a side, 2 splits of 20.
    expect(rankTestP([5, 6, 7], [1, 2, 5])).toBe(2 / 20);
    // All tied (U = 4½ → 5): 13 of 20.
    expect(rankTestP([1, 1, 1], [1, 1, 1])).toBe(13 / 20);
  });

  test.prop([
    fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 24 }),
    fc.integer({ min: 1, max: 23 }),
  ])('both directions together cover every split at least once (distinct values)', (v, cut) => {
    const k = Math.min(cut, v.length - 1);
    const a = v.slice(0, k);
    const b = v.slice(k);
    const up = rankTestP(a, b);
    const down = rankTestP(b, a);
    expect(up).toBeGreaterThan(0);
    expect(up).toBeLessThanOrEqual(1);
    expect(up + down).toBeGreaterThan(1);
  });
});
