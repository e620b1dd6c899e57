/** Order statistics the suites and the A/B comparison share. Every function leaves its input as it is. */

/** Ascending copy. */
function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** The middle value; for an even count, the mean of the two middle ones. `NaN` for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The index (in `values`) of the median value; for an even count, of the lower of the two middle
 * ones. A suite reports the round at this index where a figure cannot be averaged (a percentile
 * table, a sample count). `-1` for no values.
 */
export function medianIndex(values: readonly number[]): number {
  if (values.length === 0) return -1;
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]! || a - b);
  return order[(order.length - 1) >> 1]!;
}

/** The value at rank ⌊q·n⌋ of the ascending values (no interpolation); `NaN` for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = sorted(values);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
