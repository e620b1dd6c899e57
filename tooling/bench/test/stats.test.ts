import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { median, medianIndex, quantile } from '../src/stats.ts';

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
    expect(median([...v].reverse())).toBe(m);
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
    expect(v[medianIndex(v)]).toBe(median(v));
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
