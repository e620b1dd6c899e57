import type { HypercallDetail } from '@pvlab/hypercall/host';
import type { HypercallEvent, RunEvent, SmcccEvent } from './events.js';

/** The calls a summary counts: Hyper-V hypercalls and arm64 SMCCC calls. */
type CallEvent = HypercallEvent | SmcccEvent;

import { alignColumns, columnWidths } from '../table.js';
import { compareStrings, hexCallCode, round3 } from './units.js';

/** Count, status histogram and latency of a set of hypercalls. */
export interface LatencyStats {
  readonly count: number;
  /** Status name → count of the calls that completed, most frequent first (ties by name). */
  readonly statuses: Readonly<Record<string, number>>;
  /**
   * Fault → count of the calls that did not complete but faulted (`#UD`, `#GP`, `#MEMORY` — an
   * input or output GPA outside RAM), most frequent first.
   */
  readonly faults: Readonly<Record<string, number>>;
  /** Mean of `dur` in µs; null when there were no calls. */
  readonly meanUs: number | null;
  /** 99th percentile of `dur` in µs by nearest rank; null when there were no calls. */
  readonly p99Us: number | null;
}

/** The statistics of one hypercall (by name). */
export interface CallStats extends LatencyStats {
  readonly call: string;
  readonly callCode: number;
  readonly meanUs: number;
  readonly p99Us: number;
}

/** Per-call statistics sorted by call code, plus the totals over every hypercall. */
export interface HypercallSummary {
  readonly calls: readonly CallStats[];
  readonly total: LatencyStats;
}

/** The `--json` form of a summary: call codes in hex, times rounded to 3 decimals. */
export interface HypercallSummaryJson {
  readonly calls: readonly {
    readonly call: string;
    readonly code: string;
    readonly count: number;
    readonly statuses: Readonly<Record<string, number>>;
    readonly faults: Readonly<Record<string, number>>;
    readonly meanUs: number;
    readonly p99Us: number;
  }[];
  readonly total: {
    readonly count: number;
    readonly statuses: Readonly<Record<string, number>>;
    readonly faults: Readonly<Record<string, number>>;
    readonly meanUs: number | null;
    readonly p99Us: number | null;
  };
}

/**
 * The `percent` percentile (0 < percent ≤ 100) of non-empty ascending `sorted` by the nearest-rank
 * method: the smallest value with at least `percent`% of the data at or below it.
 */
function nearestRank(sorted: ArrayLike<number>, percent: number): number {
  // Integer arithmetic: 0.99 * 100 is not exactly 99 in binary floating point.
  const rank = Math.max(1, Math.ceil((percent * sorted.length) / 100));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Summarises the hypercall (and SMCCC) events of a run per call name; other event kinds are ignored. */
export function summarizeHypercalls(events: readonly RunEvent[]): HypercallSummary {
  const groups = new Map<string, CallEvent[]>();
  const all: CallEvent[] = [];
  for (const event of events) {
    if (event.kind !== 'hypercall' && event.kind !== 'smccc') continue;
    all.push(event);
    const group = groups.get(event.name);
    if (group) group.push(event);
    else groups.set(event.name, [event]);
  }
  const calls = [...groups.values()]
    .map((group): CallStats => {
      const first = group[0]!;
      const stats = latencyStats(group);
      return {
        call: first.name,
        callCode: first.kind === 'smccc' ? first.functionId : first.callCode,
        ...stats,
        meanUs: stats.meanUs ?? 0,
        p99Us: stats.p99Us ?? 0,
      };
    })
    .sort((a, b) => a.callCode - b.callCode || compareStrings(a.call, b.call));
  return { calls, total: latencyStats(all) };
}

/** A call that faulted records the fault (`#MEMORY`) where a completed one has its status. */
const isFault = (status: string) => status.startsWith('#');

/** Name → count, most frequent first (ties by name). */
function histogram(names: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
  return Object.fromEntries([...counts].sort(([a, m], [b, n]) => n - m || compareStrings(a, b)));
}

function latencyStats(calls: readonly CallEvent[]): LatencyStats {
  const outcomes = calls.map((c) => c.status);
  const statuses = histogram(outcomes.filter((o) => !isFault(o)));
  const faults = histogram(outcomes.filter(isFault));
  if (calls.length === 0) return { count: 0, statuses, faults, meanUs: null, p99Us: null };
  const durations = Float64Array.from(calls, (c) => c.dur).sort();
  // Summing the sorted values makes the mean independent of the order events arrived in.
  let sum = 0;
  for (const d of durations) sum += d;
  return {
    count: calls.length,
    statuses,
    faults,
    meanUs: sum / calls.length,
    p99Us: nearestRank(durations, 99),
  };
}

/** The JSON form of a summary for `--json`: call codes as `0xNNNN`, times rounded to 3 decimals. */
export function summaryToJson(summary: HypercallSummary): HypercallSummaryJson {
  const time = (us: number | null) => (us === null ? null : round3(us));
  return {
    calls: summary.calls.map((c) => ({
      call: c.call,
      code: hexCallCode(c.callCode),
      count: c.count,
      statuses: c.statuses,
      faults: c.faults,
      meanUs: round3(c.meanUs),
      p99Us: round3(c.p99Us),
    })),
    total: {
      count: summary.total.count,
      statuses: summary.total.statuses,
      faults: summary.total.faults,
      meanUs: time(summary.total.meanUs),
      p99Us: time(summary.total.p99Us),
    },
  };
}

/**
 * What the summary's times are: the seeded scheduler's `virtual` clock, or `real` time measured
 * with `threads` busy threads (vCPUs + the host) on `cores` cores.
 */
export type SummaryClock =
  | { readonly clock: 'virtual' }
  | { readonly clock: 'real'; readonly threads: number; readonly cores: number };

/** The line under the table that says what its times are, or '' when nothing needs saying. */
export function clockNote(clock: SummaryClock | undefined): string {
  if (clock === undefined) return '';
  if (clock.clock === 'virtual')
    return 'times are virtual: the seeded scheduler counts each exit, nothing is measured';
  if (clock.threads <= clock.cores) return '';
  return `times are real but oversubscribed: ${clock.threads} busy threads (vCPUs + host) on ${clock.cores} cores, so latencies include waits for a core`;
}

/**
 * Renders a summary as a plain-text table (call, count, statuses, mean µs, p99 µs; numbers
 * right-aligned, `HV_STATUS_` dropped from status names, no colours), ending with a totals row
 * and, given `clock`, a line saying when the times are virtual or oversubscribed. Calls that
 * faulted (`#MEMORY`, `#GP`, `#UD`) get a faults column after the statuses; columns are as wide
 * as their widest cell, whatever the names and counts.
 */
export function formatSummaryTable(summary: HypercallSummary, clock?: SummaryClock): string {
  const time = (us: number | null) => (us === null ? '-' : us.toFixed(3));
  const histogram = (s: Readonly<Record<string, number>>) =>
    Object.entries(s)
      .map(([name, n]) => `${name.replace(/^HV_STATUS_/, '')}×${n}`)
      .join(' ') || '-';
  const withFaults = Object.keys(summary.total.faults).length > 0;
  const row = (call: string, stats: LatencyStats) => [
    call,
    String(stats.count),
    histogram(stats.statuses),
    ...(withFaults ? [histogram(stats.faults)] : []),
    time(stats.meanUs),
    time(stats.p99Us),
  ];
  const head = ['call', 'count', 'statuses', ...(withFaults ? ['faults'] : []), 'mean µs', 'p99 µs'];
  const rightAligned = [false, true, false, ...(withFaults ? [false] : []), true, true];
  const body = summary.calls.map((c) => row(c.call, c));
  const total = row('total', summary.total);
  const table = [head, ...body, total];
  const [headLine, ...rows] = alignColumns(table, rightAligned);
  const rule = columnWidths(table)
    .map((w) => '-'.repeat(w))
    .join('  ');
  const bodyLines = rows.slice(0, body.length);
  const totalLine = rows.at(-1)!;
  const note = clockNote(clock);
  return [
    headLine,
    rule,
    ...bodyLines,
    ...(body.length > 0 ? [rule] : []),
    totalLine,
    ...(note ? [note] : []),
  ].join('\n');
}

/** A hypercall that did not succeed, as `--json` lists it: who, when, what, and why. */
export interface FailedCallJson extends HypercallDetail {
  readonly vp: number;
  /** µs from the start of the run (virtual with a seed), 3 decimals. */
  readonly ts: number;
  readonly call: string;
  readonly control: string;
  /** HV_STATUS name, or the fault (`#UD`, `#GP`, `#MEMORY`) or `SUSPENDED`. */
  readonly status: string;
  readonly repsCompleted: number;
}

/**
 * Every hypercall of a run whose status was not SUCCESS, in run order, with its detail (reason,
 * GPAs, decoded input) when the run recorded details. The trace has every call; this is the part
 * a user reads first when a guest misbehaves.
 */
export function failedCalls(events: readonly RunEvent[]): FailedCallJson[] {
  const out: FailedCallJson[] = [];
  for (const e of events) {
    if (e.kind !== 'hypercall' || e.status === 'HV_STATUS_SUCCESS') continue;
    out.push({
      vp: e.vp,
      ts: round3(e.ts),
      call: e.name,
      control: e.control,
      status: e.status,
      repsCompleted: e.repsCompleted,
      ...e.detail,
    });
  }
  return out;
}
