import type { BenchRow, SuiteResult } from './suite.js';
import { columns, ns, si } from './text-table.js';

function rowCells(r: BenchRow): string[] {
  return [
    r.name,
    si(r.opsPerSecMedian),
    si(r.opsPerSecMean),
    `±${r.rmePercent.toFixed(2)}%`,
    ns(r.nsPerOpMedian),
    r.bytesPerSecMedian === null ? '' : si(r.bytesPerSecMedian, 'B/s'),
    String(r.samples),
    roundSpread(r),
  ];
}

/** How far the slowest and the fastest round fell from the median: the run-to-run noise. */
function roundSpread(r: BenchRow): string {
  if (r.roundMedians.length < 2) return '';
  const pct = (v: number) => ((100 * (v - r.opsPerSecMedian)) / r.opsPerSecMedian).toFixed(0);
  return `${pct(r.opsPerSecMin)}% +${pct(r.opsPerSecMax)}%`;
}

/** One suite as a plain-text table of its rows, then its ratios. */
export function formatSuite(name: string, result: SuiteResult): string {
  const head = [
    'case',
    'ops/s median',
    'ops/s mean',
    'rme',
    'ns/op median',
    'bytes/s median',
    'samples',
    'rounds min max',
  ];
  const table = columns(head, result.rows.map(rowCells), [false, true, true, true, true, true, true, true]);
  const withGoals = result.ratios.some((q) => q.goal !== undefined);
  const ratios = columns(
    ['ratio of medians', 'value', 'slowdown', ...(withGoals ? ['goal'] : []), 'meaning'],
    result.ratios.map((q) => [
      q.id,
      q.value.toPrecision(3),
      `${(1 / q.value).toPrecision(3)}×`,
      ...(withGoals
        ? [
            q.goal === undefined
              ? ''
              : `${q.goal.text}: ${q.goal.met === null ? 'not judged' : q.goal.met ? 'met' : 'NOT met'}`,
          ]
        : []),
      q.description,
    ]),
    [false, true, true, ...(withGoals ? [false] : []), false],
  );
  const tables = (result.tables ?? []).flatMap((t) => [
    '',
    `${t.title}`,
    '',
    ...columns(
      [...t.columns],
      t.rows.map((r) => t.columns.map((c) => cell(r[c] ?? null))),
      t.columns.map((c) => t.rows.some((r) => typeof r[c] === 'number')),
    ),
  ]);
  const notes = (result.notes ?? []).map((n) => `note: ${n}`);
  // A suite that skipped itself has only its notes to show.
  if (result.rows.length === 0 && result.ratios.length === 0)
    return [`${name}: ${result.title}`, '', ...notes].join('\n');
  return [
    `${name}: ${result.title}`,
    '',
    ...table,
    '',
    ...ratios,
    ...tables,
    ...(notes.length > 0 ? ['', ...notes] : []),
  ].join('\n');
}

/** A table cell: numbers with three significant digits (SI prefix from 10 000 up). */
function cell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (Number.isInteger(v) && Math.abs(v) < 10_000) return String(v);
  return Math.abs(v) >= 10_000 ? si(v) : v.toPrecision(3);
}
