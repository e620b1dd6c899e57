import { quantile } from '../stats.js';
import type { BenchRow, BenchTable } from '../suite.js';
import type { RoundTripWindow } from './round-trips.js';
import { us } from './samples.js';

/** Each case over its whole timed window (median round), and the spread of its batches. */
export function windowTable(
  rows: readonly BenchRow[],
  windows: ReadonlyMap<string, RoundTripWindow[]>,
): BenchTable {
  return {
    id: 'round-trip-window',
    title:
      'each case over its whole timed window (round trips ÷ wall time, stalls included), and the spread of its batches (median round)',
    columns: [
      'case',
      'round trips/s (window)',
      'µs (window)',
      'µs p10',
      'µs p50',
      'µs p90',
      'µs p99',
      'µs max',
    ],
    rows: rows.map((r) => {
      const runs = windows.get(r.id)!;
      const mid = runs[r.medianRound] ?? runs[0]!;
      const v = mid.perCallUs;
      return {
        case: r.id,
        'round trips/s (window)': mid.perSec,
        'µs (window)': us(1e6 / mid.perSec),
        'µs p10': us(quantile(v, 0.1)),
        'µs p50': us(quantile(v, 0.5)),
        'µs p90': us(quantile(v, 0.9)),
        'µs p99': us(quantile(v, 0.99)),
        'µs max': us(Math.max(...v)),
      };
    }),
  };
}

/** The host's own view of each pvlab exit in the median round (run events). */
export function hostTable(
  rows: readonly BenchRow[],
  hostDetail: ReadonlyMap<string, number[][]>,
): BenchTable {
  return {
    id: 'host-side',
    title: 'host side of each 1-vCPU exit (run events: the vCPU posts the exit → the host has completed it)',
    columns: ['case', 'exits', 'µs p10', 'µs p50', 'µs p90', 'µs p99'],
    rows: [...hostDetail].map(([id, perRound]) => {
      const row = rows.find((r) => r.id === id)!;
      const v = perRound[row.medianRound] ?? perRound[0]!;
      return {
        case: id,
        exits: v.length,
        'µs p10': us(quantile(v, 0.1)),
        'µs p50': us(quantile(v, 0.5)),
        'µs p90': us(quantile(v, 0.9)),
        'µs p99': us(quantile(v, 0.99)),
      };
    }),
  };
}
