import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { compareCase, compareSuite, spread, verdict } from '../src/ab/compare.ts';
import { type SuiteFigures, suiteFigures } from '../src/ab/figures.ts';
import { sideOrder } from '../src/ab/processes.ts';

const figures = (cases: Record<string, number>, ratios: Record<string, number> = {}): SuiteFigures => ({
  cases: new Map(Object.entries(cases)),
  ratios: new Map(Object.entries(ratios)),
  judged: true,
});

describe('verdict', () => {
  const base = spread([100, 96, 104, 98, 102]);

  it('flags head as slower only beyond the threshold and when its processes rank above base', () => {
    expect(verdict(base, spread([106, 107, 108, 105, 109]), 5)).toBe('slower');
    // Ranks apart, but within 5 %.
    expect(verdict(base, spread([104.5, 104.6, 104.7, 104.8, 104.9]), 5)).toBe('same');
    // 10 % slower in the median, but the processes overlap: noise.
    expect(verdict(spread([100, 80, 120, 90, 110]), spread([110, 70, 130, 95, 125]), 5)).toBe('same');
    expect(verdict(base, spread([94, 93, 92, 95, 91]), 5)).toBe('faster');
    expect(verdict(base, spread([100, 101, 99, 97, 103]), 5)).toBe('same');
  });

  it('never judges three processes a side: the rank test cannot go below 0.05', () => {
    expect(verdict(spread([100, 101, 102]), spread([200, 201, 202]), 5)).toBe('same');
    expect(verdict(spread([100, 101, 102, 103]), spread([200, 201, 202, 203]), 5)).toBe('slower');
  });

  test.prop([fc.array(fc.double({ min: 1, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 20 })])(
    'never flags a side against itself',
    (v) => {
      expect(verdict(spread(v), spread(v), 5)).toBe('same');
    },
  );
});

describe('compareCase', () => {
  it('gives each side its median and range and head ÷ base of the medians', () => {
    const c = compareCase('x', [100, 120, 110, 90, 105], [210, 200, 230, 220, 190], 5);
    expect(c.base).toEqual({ median: 105, min: 90, max: 120, n: 5, values: [100, 120, 110, 90, 105] });
    expect(c.head).toEqual({ median: 210, min: 190, max: 230, n: 5, values: [210, 200, 230, 220, 190] });
    expect(c.ratio).toBe(2);
    expect(c.p).toBe(1 / 252);
    expect(c.verdict).toBe('slower');
  });
});

describe('compareSuite', () => {
  it('pairs cases and ratios by id, in base order, and lists the ids only one side has', () => {
    const base = [10, 12, 11, 13].map((a) => figures({ a, b: 2 * a, gone: 1 }, { 'a/b': a / 4 }));
    const head = [11, 12, 11, 12].map((a) => figures({ b: 4 * a, a, added: 5 }, { 'a/b': 3 }));
    const c = compareSuite(base, head, 5);
    expect(c.cases.map((x) => [x.id, x.ratio, x.verdict])).toEqual([
      ['a', 1, 'same'],
      ['b', 2, 'slower'],
    ]);
    expect(c.ratios).toEqual([
      {
        id: 'a/b',
        base: { median: 2.875, min: 2.5, max: 3.25, n: 4, values: [2.5, 3, 2.75, 3.25] },
        head: { median: 3, min: 3, max: 3, n: 4, values: [3, 3, 3, 3] },
        change: 3 / 2.875,
      },
    ]);
    expect(c.onlyBase).toEqual(['gone']);
    expect(c.onlyHead).toEqual(['added']);
  });
});

describe('suiteFigures', () => {
  it("reads a bench JSON's rows (ns/op), ratios and scaling table (ns per hypercall)", () => {
    const json = {
      node: 'v20',
      suites: {
        threaded: {
          title: 't',
          rows: [
            { id: 'pvlab-fast', nsPerOpMedian: 240, opsPerSecMedian: 4.2e6 },
            { id: 'raw-atomics', nsPerOpMedian: 90 },
          ],
          ratios: [{ id: 'pvlab-fast/raw-atomics', value: 0.375 }],
          tables: [
            { id: 'host-side', rows: [{ case: 'pvlab-fast', 'µs p50': 0.2 }] },
            { id: 'scaling', rows: [{ config: '2 vCPUs', 'hypercalls/s': 2e6 }] },
          ],
        },
      },
    };
    const f = suiteFigures(json, 'threaded');
    expect([...f.cases]).toEqual([
      ['pvlab-fast', 240],
      ['raw-atomics', 90],
      ['scaling 2 vCPUs', 500],
    ]);
    expect([...f.ratios]).toEqual([['pvlab-fast/raw-atomics', 0.375]]);
    expect(f.judged).toBe(true);
  });

  it('says when the bench could not judge its goals on the run (a goal met: null)', () => {
    const run = (met: boolean | null) => ({
      suites: {
        threaded: {
          rows: [{ id: 'raw-atomics', nsPerOpMedian: 40_000 }],
          ratios: [
            { id: 'raw-atomics/postmessage', value: 0.5 },
            { id: 'pvlab-fast/raw-atomics', value: 0.4, goal: { text: 'slowdown ≤ 1.5×', met } },
          ],
        },
      },
    });
    expect(suiteFigures(run(null), 'threaded').judged).toBe(false);
    expect(suiteFigures(run(false), 'threaded').judged).toBe(true);
    expect(suiteFigures(run(true), 'threaded').judged).toBe(true);
  });

  it('fails on a JSON without the suite', () => {
    expect(() => suiteFigures({ suites: {} }, 'threaded')).toThrow(/no rows for suite 'threaded'/);
    expect(() => suiteFigures('oops', 'threaded')).toThrow(/no rows/);
  });
});

describe('sideOrder', () => {
  it('alternates which side runs first: A B, B A, A B, …', () => {
    expect([0, 1, 2, 3].map(sideOrder)).toEqual([
      ['base', 'head'],
      ['head', 'base'],
      ['base', 'head'],
      ['head', 'base'],
    ]);
  });
});
