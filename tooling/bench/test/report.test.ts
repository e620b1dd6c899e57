import { describe, expect, it } from 'vitest';
import { formatSuite } from '../src/report.ts';
import { medianRounds, ratio } from '../src/suite.ts';

const row = (id: string, ops: number) => ({
  id,
  name: `case ${id}`,
  opsPerSecMedian: ops,
  opsPerSecMean: ops,
  rmePercent: 1,
  nsPerOpMedian: 1e9 / ops,
  bytesPerOp: null,
  bytesPerSecMedian: null,
  samples: 64,
  batch: 10,
});

describe('formatSuite', () => {
  it('a suite that skipped itself prints its title and notes, no empty tables', () => {
    const text = formatSuite('wasm-guest', {
      title: 'C guests: SKIPPED',
      rows: [],
      ratios: [],
      notes: ['SKIPPED: no clang'],
    });
    expect(text).toBe('wasm-guest: C guests: SKIPPED\n\nnote: SKIPPED: no clang');
  });

  it('a suite with rows prints them, its ratios with their goals, and its notes', () => {
    const rows = medianRounds([[row('c', 300), row('js', 400)]]);
    const r = ratio(rows, 'c', 'js', 'C ÷ JS');
    const text = formatSuite('wasm-guest', {
      title: 'C guests',
      rows,
      ratios: [{ ...r, goal: { text: 'value ≥ 1.0', met: false } }],
      notes: ['a note'],
    });
    const lines = text.split('\n');
    expect(lines[0]).toBe('wasm-guest: C guests');
    expect(lines.some((l) => l.startsWith('case c ') && l.includes('300'))).toBe(true);
    expect(
      lines.some((l) => l.startsWith('c/js') && l.includes('0.750') && l.includes('value ≥ 1.0: NOT met')),
    ).toBe(true);
    expect(lines.at(-1)).toBe('note: a note');
  });
});
