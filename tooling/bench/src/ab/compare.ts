import { median, rankTestP } from '../stats.js';
import type { SuiteFigures } from './figures.js';

/** One figure over the processes of one side. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Processes that reported it. */
  readonly n: number;
  /** Every process's figure, in the order they ran. */
  readonly values: readonly number[];
}

export function spread(values: readonly number[]): Spread {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
    values: [...values],
  };
}

/**
 * `slower`: head's median time is more than `threshold` % above base's, and its processes rank
 * above base's beyond chance (one-sided Mann–Whitney, p < 0.05), so that neither a small shift
 * nor one unlucky process on either side is flagged. `faster` is the mirror image; anything else
 * is `same` (within the noise).
 */
export type Verdict = 'slower' | 'faster' | 'same';

/** The rank test's level: below it, one side's processes are slower than the other's beyond chance. */
export const SIGNIFICANCE = 0.05;

/** One case (ns per operation, lower is better) on both sides. */
export interface CaseComparison {
  readonly id: string;
  readonly base: Spread;
  readonly head: Spread;
  /** head ÷ base of the median times: above 1 is slower. */
  readonly ratio: number;
  /** The rank test's p in the direction of the medians' shift (head slower when ratio ≥ 1, else faster). */
  readonly p: number;
  readonly verdict: Verdict;
}

/** One of a suite's own ratios (taken within each process) on both sides. */
export interface RatioComparison {
  readonly id: string;
  readonly base: Spread;
  readonly head: Spread;
  /** head ÷ base of the medians. */
  readonly change: number;
}

export interface SuiteComparison {
  readonly cases: CaseComparison[];
  readonly ratios: RatioComparison[];
  /** Case ids that only one side reported (a case added or removed between the checkouts). */
  readonly onlyBase: string[];
  readonly onlyHead: string[];
}

/** The one-sided rank test's p in the direction the medians moved. */
export function shiftP(base: Spread, head: Spread): number {
  return head.median >= base.median
    ? rankTestP(head.values, base.values)
    : rankTestP(base.values, head.values);
}

export function verdict(base: Spread, head: Spread, thresholdPercent: number): Verdict {
  const margin = thresholdPercent / 100;
  const p = shiftP(base, head);
  if (head.median > base.median * (1 + margin) && p < SIGNIFICANCE) return 'slower';
  if (head.median < base.median * (1 - margin) && p < SIGNIFICANCE) return 'faster';
  return 'same';
}

export function compareCase(
  id: string,
  base: readonly number[],
  head: readonly number[],
  thresholdPercent: number,
): CaseComparison {
  const b = spread(base);
  const h = spread(head);
  return {
    id,
    base: b,
    head: h,
    ratio: h.median / b.median,
    p: shiftP(b, h),
    verdict: verdict(b, h, thresholdPercent),
  };
}

/** Every value of `key` across the processes, by id, in first-seen order. */
function collect(runs: readonly SuiteFigures[], key: 'cases' | 'ratios'): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const run of runs) {
    for (const [id, v] of run[key]) out.set(id, [...(out.get(id) ?? []), v]);
  }
  return out;
}

/** Base's processes against head's: every case and ratio both sides reported, in base's order. */
export function compareSuite(
  base: readonly SuiteFigures[],
  head: readonly SuiteFigures[],
  thresholdPercent: number,
): SuiteComparison {
  const baseCases = collect(base, 'cases');
  const headCases = collect(head, 'cases');
  const baseRatios = collect(base, 'ratios');
  const headRatios = collect(head, 'ratios');
  const cases: CaseComparison[] = [];
  for (const [id, b] of baseCases) {
    const h = headCases.get(id);
    if (h) cases.push(compareCase(id, b, h, thresholdPercent));
  }
  const ratios: RatioComparison[] = [];
  for (const [id, b] of baseRatios) {
    const h = headRatios.get(id);
    if (!h) continue;
    const bs = spread(b);
    const hs = spread(h);
    ratios.push({ id, base: bs, head: hs, change: hs.median / bs.median });
  }
  return {
    cases,
    ratios,
    onlyBase: [...baseCases.keys()].filter((id) => !headCases.has(id)),
    onlyHead: [...headCases.keys()].filter((id) => !baseCases.has(id)),
  };
}
