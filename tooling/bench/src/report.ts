import type { BenchRow, SuiteResult } from './suite.js';

/** `12.3 M`: three significant digits with an SI prefix. */
function si(value: number, unit = ''): string {
  const prefixes: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  const [scale, prefix] = prefixes.find(([s]) => Math.abs(value) >= s) ?? [1, ''];
  return `${(value / scale).toPrecision(3)} ${prefix}${unit}`.trimEnd();
}

function ns(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

function columns(head: string[], rows: string[][], rightAligned: boolean[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (rightAligned[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function rowCells(r: BenchRow): string[] {
  return [
    r.name,
    si(r.opsPerSecMedian),
    si(r.opsPerSecMean),
    `±${r.rmePercent.toFixed(2)}%`,
    ns(r.nsPerOpMedian),
    r.bytesPerSecMedian === null ? '' : si(r.bytesPerSecMedian, 'B/s'),
    String(r.samples),
    worstRound(r),
  ];
}

/** How far the slowest round's median fell below the reported (best) one: the run-to-run noise. */
function worstRound(r: BenchRow): string {
  if (r.roundMedians.length < 2) return '';
  const worst = Math.min(...r.roundMedians);
  return `-${((100 * (r.opsPerSecMedian - worst)) / r.opsPerSecMedian).toFixed(0)}%`;
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
    'worst round',
  ];
  const table = columns(head, result.rows.map(rowCells), [false, true, true, true, true, true, true, true]);
  const ratios = columns(
    ['ratio of medians', 'value', 'slowdown', 'meaning'],
    result.ratios.map((q) => [
      q.id,
      q.value.toPrecision(3),
      `${(1 / q.value).toPrecision(3)}×`,
      q.description,
    ]),
    [false, true, true, false],
  );
  return [`${name}: ${result.title}`, '', ...table, '', ...ratios].join('\n');
}
