import { Bench, type Task } from 'tinybench';
import { median, medianIndex } from './stats.js';

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

/** The figures of one case in one round; every rate is per operation, not per batch. */
export interface RoundRow {
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
  /** Samples taken (each one a batch). */
  readonly samples: number;
  readonly batch: number;
}

/**
 * The figures of one case over all rounds. `opsPerSecMedian` and `nsPerOpMedian` are the medians
 * of the rounds' medians; `opsPerSecMean`, `rmePercent` and `samples` are those of the median
 * round (`medianRound`).
 */
export interface BenchRow extends RoundRow {
  /** The median ops/s of every round, in the order the rounds ran. */
  readonly roundMedians: number[];
  /** The slowest and the fastest round's median ops/s: the run-to-run spread. */
  readonly opsPerSecMin: number;
  readonly opsPerSecMax: number;
  /** Index (in `roundMedians`) of the round whose mean, margin and samples the row shows. */
  readonly medianRound: number;
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
): RoundRow {
  if (secondsPerOp.length === 0) throw new Error(`benchmark ${c.id} took no samples`);
  const medianSec = median(secondsPerOp);
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
  };
}

/**
 * Each case over its rounds (`rounds[round][case]`, the same cases in the same order every round):
 * the median of the rounds' medians, the median round's other figures, and every round's median.
 */
export function medianRounds(rounds: readonly (readonly RoundRow[])[]): BenchRow[] {
  const first = rounds[0] ?? [];
  return first.map((_, i) => {
    const perRound = rounds.map((r) => r[i]!);
    const ops = perRound.map((r) => r.opsPerSecMedian);
    const medianRound = medianIndex(ops);
    const opsPerSecMedian = median(ops);
    const mid = perRound[medianRound]!;
    return {
      ...mid,
      opsPerSecMedian,
      nsPerOpMedian: median(perRound.map((r) => r.nsPerOpMedian)),
      bytesPerSecMedian: mid.bytesPerOp === null ? null : mid.bytesPerOp * opsPerSecMedian,
      roundMedians: ops,
      opsPerSecMin: Math.min(...ops),
      opsPerSecMax: Math.max(...ops),
      medianRound,
    };
  });
}

/**
 * Times each case with tinybench (warmup, then at least `timeMs` and 64 samples), `rounds`
 * times over: every round runs all cases again, so that a burst of load from other processes hits
 * one round of every case alike, and a row reports the median of its rounds.
 */
export function measure(
  cases: readonly BenchCase[],
  timing: TimingOptions,
  progress: (line: string) => void,
): BenchRow[] {
  const now = () => performance.now();
  const wrong = new Map<string, number>(cases.map((c) => [c.id, 0]));
  const rounds: RoundRow[][] = [];
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
  return medianRounds(rounds);
}

function toRow(c: BenchCase, task: Task | undefined): RoundRow {
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
