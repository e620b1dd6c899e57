import { Bench, type Task } from 'tinybench';

/** How long tinybench samples each case (milliseconds), and how many rounds of all cases to run. */
export interface TimingOptions {
  readonly timeMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
}

/**
 * One thing to time. `run()` performs `batch` operations back to back, so that the timer's own
 * cost (tens of ns) is spread over the batch instead of landing on each sub-µs operation, and
 * returns how many of them gave a wrong result: a check that also keeps the JIT from dropping
 * the work.
 */
export interface BenchCase {
  /** Stable key for JSON output and ratios, e.g. `null-memory`. */
  readonly id: string;
  /** What the table shows. */
  readonly name: string;
  /** Operations per `run()` call. */
  readonly batch: number;
  /** Guest bytes one operation moves (for bytes/s); omitted when bytes are not the point. */
  readonly bytesPerOp?: number;
  run(): number;
}

/** The figures of one case from its best round; every rate is per operation, not per batch. */
export interface BenchRow {
  readonly id: string;
  readonly name: string;
  readonly opsPerSecMedian: number;
  readonly opsPerSecMean: number;
  /** Relative margin of error of the mean ops/s (95 %), in percent. */
  readonly rmePercent: number;
  readonly nsPerOpMedian: number;
  readonly bytesPerOp: number | null;
  /** `bytesPerOp` × median ops/s. */
  readonly bytesPerSecMedian: number | null;
  /** Samples taken (each one a batch) in the reported round. */
  readonly samples: number;
  readonly batch: number;
  /** The median ops/s of every round; the row's figures are those of the best one. */
  readonly roundMedians: number[];
}

/** `numerator` ÷ `denominator` of the median rates (ops/s, or bytes/s when both move bytes). */
export interface BenchRatio {
  readonly id: string;
  readonly description: string;
  readonly numerator: string;
  readonly denominator: string;
  readonly value: number;
  /** A target the issue set for this ratio, and whether this run meets it (`null`: cannot tell from this run). */
  readonly goal?: { readonly text: string; readonly met: boolean | null };
}

/** A free-form table a suite adds to its rows (e.g. a scaling sweep); JSON keeps the raw values. */
export interface BenchTable {
  readonly id: string;
  readonly title: string;
  /** Column keys, in display order; each row maps them to a value. */
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, string | number | null>[];
}

/** What a suite reports: its rows and the ratios that give them meaning. */
export interface SuiteResult {
  readonly title: string;
  readonly rows: BenchRow[];
  readonly ratios: BenchRatio[];
  /** Extra tables (printed after the ratios). */
  readonly tables?: BenchTable[];
  /** Lines to print under the suite: machine load, which constants were mirrored, … */
  readonly notes?: string[];
}

/** A benchmark module. Later issues add theirs to `suites/index.ts`. */
export interface BenchSuite {
  /** Key on the command line (`--suite`) and in the JSON `suites` object. */
  readonly name: string;
  run(timing: TimingOptions, progress: (line: string) => void): SuiteResult | Promise<SuiteResult>;
}

/**
 * A row from samples timed by hand (not by tinybench): each sample is the mean seconds per
 * operation of one batch. The margin of error uses the normal quantile 1.96 (samples ≥ 30).
 */
export function rowFromSamples(
  c: { readonly id: string; readonly name: string; readonly batch: number },
  secondsPerOp: readonly number[],
): BenchRow {
  if (secondsPerOp.length === 0) throw new Error(`benchmark ${c.id} took no samples`);
  const sorted = [...secondsPerOp].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianSec = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const rates = secondsPerOp.map((s) => 1 / s);
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const variance = rates.length > 1 ? rates.reduce((a, r) => a + (r - mean) ** 2, 0) / (rates.length - 1) : 0;
  const rmePercent = ((1.96 * Math.sqrt(variance / rates.length)) / mean) * 100;
  return {
    id: c.id,
    name: c.name,
    opsPerSecMedian: 1 / medianSec,
    opsPerSecMean: mean,
    rmePercent,
    nsPerOpMedian: medianSec * 1e9,
    bytesPerOp: null,
    bytesPerSecMedian: null,
    samples: secondsPerOp.length,
    batch: c.batch,
    roundMedians: [1 / medianSec],
  };
}

/** Each case's best round (highest median ops/s), keeping every round's median. */
export function bestRounds(rounds: readonly (readonly BenchRow[])[]): BenchRow[] {
  const first = rounds[0] ?? [];
  return first.map((_, i) => {
    const perRound = rounds.map((r) => r[i]!);
    const best = perRound.reduce((a, b) => (b.opsPerSecMedian > a.opsPerSecMedian ? b : a));
    return { ...best, roundMedians: perRound.map((r) => r.opsPerSecMedian) };
  });
}

/**
 * Times each case with tinybench (warmup, then at least `timeMs` and 64 samples), `rounds`
 * times over: every round runs all cases again, and a row keeps its best round (highest median),
 * so that a burst of load from other processes costs one round, not the figure.
 */
export function measure(
  cases: readonly BenchCase[],
  timing: TimingOptions,
  progress: (line: string) => void,
): BenchRow[] {
  const now = () => performance.now();
  const wrong = new Map<string, number>(cases.map((c) => [c.id, 0]));
  const rounds: BenchRow[][] = [];
  for (let round = 1; round <= timing.rounds; round++) {
    const bench = new Bench({ time: timing.timeMs, warmupTime: timing.warmupMs, throws: true });
    for (const c of cases) {
      bench.add(
        c.id,
        () => {
          const t0 = now();
          const w = c.run();
          const elapsed = now() - t0;
          if (w !== 0) wrong.set(c.id, wrong.get(c.id)! + w);
          // A sample is the mean of one batch; the time budget counts the whole batch.
          return { overriddenDuration: elapsed / c.batch, overriddenIterationCost: elapsed };
        },
        { async: false },
      );
    }
    bench.addEventListener('cycle', (e) =>
      progress(`  round ${round}/${timing.rounds}: ${e.task?.name} done`),
    );
    bench.runSync();
    const failed = cases.filter((c) => wrong.get(c.id) !== 0);
    if (failed.length > 0) {
      throw new Error(`wrong results from ${failed.map((c) => `${c.id} (${wrong.get(c.id)})`).join(', ')}`);
    }
    rounds.push(cases.map((c) => toRow(c, bench.getTask(c.id))));
  }
  return bestRounds(rounds);
}

function toRow(c: BenchCase, task: Task | undefined): BenchRow {
  const r = task?.result;
  if (r === undefined || (r.state !== 'completed' && r.state !== 'aborted-with-statistics')) {
    throw new Error(`benchmark ${c.id} did not complete (${r?.state ?? 'missing'})`);
  }
  const opsPerSecMedian = r.throughput.p50;
  return {
    id: c.id,
    name: c.name,
    opsPerSecMedian,
    opsPerSecMean: r.throughput.mean,
    rmePercent: r.throughput.rme,
    nsPerOpMedian: r.latency.p50 * 1e6,
    bytesPerOp: c.bytesPerOp ?? null,
    bytesPerSecMedian: c.bytesPerOp === undefined ? null : c.bytesPerOp * opsPerSecMedian,
    samples: r.throughput.samplesCount,
    batch: c.batch,
    roundMedians: [opsPerSecMedian],
  };
}

/** The ratio of two rows' median rates: bytes/s when both move bytes, else ops/s. */
export function ratio(
  rows: readonly BenchRow[],
  numerator: string,
  denominator: string,
  description: string,
) {
  const find = (id: string) => {
    const row = rows.find((r) => r.id === id);
    if (!row) throw new Error(`ratio ${numerator}/${denominator}: no row ${id}`);
    return row;
  };
  const n = find(numerator);
  const d = find(denominator);
  const value =
    n.bytesPerSecMedian !== null && d.bytesPerSecMedian !== null
      ? n.bytesPerSecMedian / d.bytesPerSecMedian
      : n.opsPerSecMedian / d.opsPerSecMedian;
  return {
    id: `${numerator}/${denominator}`,
    description,
    numerator,
    denominator,
    value,
  } satisfies BenchRatio;
}
