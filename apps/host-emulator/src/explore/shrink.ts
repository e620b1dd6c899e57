/**
 * Shrinking a failing schedule (spec 08 rules 14–15): delta debugging (ddmin, Zeller and
 * Hildebrandt 2002) over the choice list, not over the trace. A candidate is the current list
 * with some choices replaced by −1, "the default" (keep the previous vCPU when it can run);
 * replacing the end of the list drops that tail, since replay takes the default past the end.
 * Every candidate is re-executed, because changing one choice changes what comes after it.
 * A run is kept when it fails and is better: fewer preemptions, then a shorter list. The
 * search then goes on from that run's own recorded choices (what really happened), so the
 * list is always one a replay reproduces; when the run says which of its picks were the default
 * (`defaulted`), from that form, so those picks are not tried again and stay defaults.
 *
 * ddmin splits the real choices (the entries that are not −1) into n chunks; it tries keeping
 * one chunk only (all others default),
 * then defaulting one chunk; on success it continues with n = 2 or n − 1, else it doubles n
 * until the chunks are single choices. When it stops without running out of runs, no single
 * choice can be defaulted to give a better failing run (1-minimal). Concurrency failures need
 * not be monotonic (a smaller change may pass where a larger one fails), so the result is a
 * local minimum, not the global one.
 */
import { DEFAULT_CHOICE } from './record.js';

export interface ShrinkRun {
  readonly failed: boolean;
  readonly choices: readonly number[];
  readonly preemptions: number;
  /**
   * Optional: `choices` with −1 wherever the pick was the default (`RecordingStrategy.defaulted`).
   * Shrinking then edits only the real choices, and a default pick stays "keep running" when an
   * earlier edit changes who ran before it, instead of becoming an explicit switch back.
   */
  readonly defaulted?: readonly number[];
}

export interface ShrinkOptions {
  /** The most candidate runs to make (default 1000). */
  readonly maxRuns?: number;
}

export const DEFAULT_MAX_SHRINK_RUNS = 1000;

/** True when `a` is a better failing run to report than `b`: fewer preemptions, then a shorter list. */
export function betterRun(a: ShrinkRun, b: ShrinkRun): boolean {
  if (a.preemptions !== b.preemptions) return a.preemptions < b.preemptions;
  return a.choices.length < b.choices.length;
}

/** The [start, end) bounds of `n` nearly equal chunks of `length` items. */
function chunks(length: number, n: number): [number, number][] {
  return Array.from({ length: n }, (_, i) => [
    Math.floor((i * length) / n),
    Math.floor(((i + 1) * length) / n),
  ]);
}

/** `list` with the positions `keep(i)` says keep, the others the default, trailing defaults dropped. */
function candidate(list: readonly number[], keep: (i: number) => boolean): number[] {
  const out = list.map((c, i) => (keep(i) ? c : DEFAULT_CHOICE));
  return trimmed(out);
}

function trimmed(out: number[]): number[] {
  while (out.length > 0 && out[out.length - 1] === DEFAULT_CHOICE) out.pop();
  return out;
}

/**
 * ddmin over the choice list (spec rules 14–15): candidates replace chunks with -1 (the
 * default) or drop a tail; each is re-executed with `run`; a candidate is kept only when it
 * fails (the caller decides "the same way") and is better: fewer preemptions, then a shorter
 * list. Returns the best run found and how many runs it took. Stops after `maxRuns`.
 */
export async function shrinkSchedule(
  start: ShrinkRun,
  run: (candidate: readonly number[]) => Promise<ShrinkRun>,
  options: ShrinkOptions = {},
): Promise<{ best: ShrinkRun; runs: number }> {
  const maxRuns = options.maxRuns ?? DEFAULT_MAX_SHRINK_RUNS;
  if (!Number.isSafeInteger(maxRuns) || maxRuns < 0) {
    throw new RangeError(`shrink maxRuns = ${maxRuns}: accepted: an integer ≥ 0`);
  }
  let best = start;
  let runs = 0;
  if (!start.failed) return { best, runs };
  // The list ddmin edits, and the positions of its real choices (not −1).
  const editable = (r: ShrinkRun) => {
    const list = trimmed([...(r.defaulted ?? r.choices)]);
    return { list, active: list.flatMap((c, i) => (c === DEFAULT_CHOICE ? [] : [i])) };
  };
  // A candidate already run gives the same run again: it cannot beat the best a second time.
  const tried = new Set<string>([editable(start).list.join(',')]);
  const attempt = async (list: number[]): Promise<boolean> => {
    const key = list.join(',');
    if (tried.has(key) || runs >= maxRuns) return false;
    tried.add(key);
    runs++;
    const result = await run(list);
    if (!result.failed || !betterRun(result, best)) return false;
    best = result;
    tried.add(editable(result).list.join(','));
    return true;
  };

  let n = 2;
  while (runs < maxRuns) {
    const { list, active } = editable(best);
    if (active.length === 0) break;
    n = Math.min(n, active.length);
    // Chunks of the real choices; `at(i)` is i's chunk, −1 for a default.
    const chunkOf = new Map<number, number>();
    chunks(active.length, n).forEach(([from, to], c) => {
      for (let a = from; a < to; a++) chunkOf.set(active[a]!, c);
    });
    const at = (i: number) => chunkOf.get(i) ?? -1;
    let next = 0;
    for (let c = 0; c < n && next === 0; c++) {
      if (await attempt(candidate(list, (i) => at(i) === c))) next = 2;
    }
    // From the last chunk back: defaulting the last one drops the tail, the cheapest change.
    for (let c = n - 1; c >= 0 && next === 0; c--) {
      if (await attempt(candidate(list, (i) => at(i) !== c))) next = Math.max(n - 1, 2);
    }
    if (next === 0) {
      if (n >= active.length) break;
      next = Math.min(2 * n, active.length);
    }
    n = next;
  }
  return { best, runs };
}
