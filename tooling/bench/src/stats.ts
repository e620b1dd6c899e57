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

/**
 * How often, among all ways to split `m + n` distinct values into two groups of `m` and `n`, `u`
 * pairs (one value from each group) have the first group's value below the second's: the null
 * distribution of the Mann–Whitney U statistic, as counts indexed by `u` (0 … m·n).
 */
function uCounts(m: number, n: number): number[] {
  // counts[j] is the distribution for (i, j); built up one value at a time, the largest last:
  // from the first group it is below none of the second (adds 0), from the second it is above all i.
  let prev: number[][] = Array.from({ length: n + 1 }, () => [1]);
  for (let i = 1; i <= m; i++) {
    const cur: number[][] = [[1]];
    for (let j = 1; j <= n; j++) {
      const d = new Array<number>(i * j + 1).fill(0);
      prev[j]!.forEach((c, u) => {
        d[u] = d[u]! + c;
      });
      cur[j - 1]!.forEach((c, u) => {
        d[u + i] = d[u + i]! + c;
      });
      cur.push(d);
    }
    prev = cur;
  }
  return prev[n]!;
}

/**
 * One-sided exact Mann–Whitney U test: if both samples came from one distribution, the chance
 * that `higher`'s values would rank above `lower`'s at least as consistently as they do. Small
 * means `higher` tends to be larger. A tie counts as half a pair (no tie correction). With 5
 * values a side the smallest possible result is 1/252, and below 0.05 needs at most 4 of the 25
 * pairs the other way round; with 3 a side it can never go below 0.05. A half pair is rounded up,
 * against a verdict.
 */
export function rankTestP(higher: readonly number[], lower: readonly number[]): number {
  if (higher.length === 0 || lower.length === 0) return 1;
  let against = 0;
  for (const h of higher) {
    for (const l of lower) against += h < l ? 1 : h === l ? 0.5 : 0;
  }
  const counts = uCounts(higher.length, lower.length);
  const total = counts.reduce((a, c) => a + c, 0);
  let atMost = 0;
  for (let u = 0; u <= Math.ceil(against); u++) atMost += counts[u]!;
  return atMost / total;
}
