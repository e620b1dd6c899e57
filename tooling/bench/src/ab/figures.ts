/**
 * The figures the A/B comparison reads from one `main.js --json` process: what both the base's
 * and this checkout's bench print (rows, ratios, and the threaded suite's scaling table).
 */

/** One bench process's figures for one suite. */
export interface SuiteFigures {
  /** ns per operation by case id; a scaling configuration is `scaling <config>`, ns per hypercall of the aggregate rate. */
  readonly cases: ReadonlyMap<string, number>;
  /** Each ratio's value by id (ops/s ÷ ops/s within the process). */
  readonly ratios: ReadonlyMap<string, number>;
  /**
   * False when the bench said it could not judge its goals on this run (a goal with `met: null`:
   * the threaded suite's round trips left the spin regime because another process held a core).
   */
  readonly judged: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The figures of `suite` in one bench JSON object; throws when the suite or its rows are missing. */
export function suiteFigures(json: unknown, suite: string): SuiteFigures {
  const result = isRecord(json) && isRecord(json['suites']) ? json['suites'][suite] : undefined;
  if (!isRecord(result) || !Array.isArray(result['rows'])) {
    throw new Error(`the bench JSON has no rows for suite '${suite}'`);
  }
  const cases = new Map<string, number>();
  for (const row of result['rows']) {
    if (isRecord(row) && typeof row['id'] === 'string' && typeof row['nsPerOpMedian'] === 'number') {
      cases.set(row['id'], row['nsPerOpMedian']);
    }
  }
  for (const table of list(result['tables'])) {
    if (!isRecord(table) || table['id'] !== 'scaling') continue;
    for (const row of list(table['rows'])) {
      if (!isRecord(row)) continue;
      const config = row['config'];
      const rate = row['hypercalls/s'];
      if (typeof config === 'string' && typeof rate === 'number' && rate > 0) {
        cases.set(`scaling ${config}`, 1e9 / rate);
      }
    }
  }
  const ratios = new Map<string, number>();
  let judged = true;
  for (const r of list(result['ratios'])) {
    if (!isRecord(r)) continue;
    if (typeof r['id'] === 'string' && typeof r['value'] === 'number') ratios.set(r['id'], r['value']);
    if (isRecord(r['goal']) && r['goal']['met'] === null) judged = false;
  }
  return { cases, ratios, judged };
}
