/**
 * An exploration campaign: seeded runs of one guest under a strategy, each classified, failures
 * grouped by signature, and each group's smallest seed shrunk to a schedule with the fewest
 * preemptions that still fails the same way. Every run is a pure function of (seed, strategy,
 * depth, steps) and the guest, so a campaign split into shards gives the same runs.
 */
import { runGuest } from '../threaded/run.js';
import type { RunFailure, RunResult } from '../threaded/run-api.js';
import type { VcpuThreadPool } from '../threaded/thread-pool.js';
import type { Vm } from '../vm.js';
import { classifyRun, type FailureClass, type RunDiagnostic, type RunVerdict } from './classify.js';
import { replayStrategy } from './record.js';
import { shrinkSchedule } from './shrink.js';
import { pctStrategy, randomStrategy, type ScheduleStrategy, type StrategyName } from './strategy.js';

export interface CampaignOptions {
  /** A fresh VM for each run (closed when the run ends). */
  readonly makeVm: () => Vm;
  readonly guest: string | URL;
  readonly args: Readonly<Record<string, string>>;
  readonly strategy: StrategyName;
  /** PCT's bug depth d (1 = no priority change points). */
  readonly depth: number;
  /** PCT's k: the decisions a run is expected to make; change points are drawn from 1..k. */
  readonly steps: number;
  /** This shard's seeds, ascending. */
  readonly seeds: readonly number[];
  /** A run that makes this many exits without ending fails as `limit`. */
  readonly maxExits: number;
  /** Runs at once (each on its own VM and vCPU threads). */
  readonly jobs: number;
  /** Runs the shrinker may make per group (0: no minimizing). */
  readonly shrinkRuns: number;
  /** The guest's failures as the user should see them (a TypeScript guest's stack mapped back). */
  readonly mapFailure?: (f: RunFailure) => RunFailure;
  readonly onRun?: (run: RunRecord, done: number) => void;
  readonly onShrink?: (group: string, runs: number) => void;
  readonly signal?: AbortSignal;
  /** vCPU threads every run of the campaign reuses. */
  readonly threads?: VcpuThreadPool;
}

/** One run of the campaign, as `runs.jsonl` holds it. */
export interface RunRecord {
  readonly seed: number;
  readonly passed: boolean;
  readonly failureClass?: FailureClass;
  readonly signature?: string;
  /** The first failure's message as it was. */
  readonly message?: string;
  readonly hypercalls: number;
  /** Scheduling decisions with ≥ 2 runnable vCPUs, and how many of them preempted a runnable vCPU. */
  readonly decisions: number;
  readonly preemptions: number;
  /** The choice list, −1 where the pick was the default (what a replay needs). */
  readonly choices: readonly number[];
}

/** The runs that failed the same way, as `groups.jsonl` holds a group. */
export interface FailureGroup {
  readonly signature: string;
  readonly failureClass: FailureClass;
  readonly message: string;
  readonly seeds: readonly number[];
  /** The smallest failing seed and its schedule as it ran. */
  readonly seed: number;
  readonly original: { readonly preemptions: number; readonly decisions: number };
  /** The shrunk schedule (the original when shrinking found nothing better or was off). */
  readonly minimized: {
    readonly choices: readonly number[];
    readonly preemptions: number;
    readonly runs: number;
  };
}

/** A guest that did not load or threw on its own: bad input, not a finding (exit 2). */
export class GuestInputFailure extends Error {
  override readonly name = 'GuestInputFailure';
  readonly failure: RunFailure;
  constructor(failure: RunFailure) {
    super(failure.message);
    this.failure = failure;
  }
}

/** One seeded run on a fresh VM: its result, verdict and the schedule it followed. */
export interface SeededRun {
  readonly result: RunResult;
  readonly verdict: RunVerdict;
  readonly diagnostics: readonly RunDiagnostic[];
}

/** The strategy seed `seed` runs under. */
function strategyFor(
  o: Pick<CampaignOptions, 'strategy' | 'depth' | 'steps'>,
  seed: number,
  vcpus: number,
): ScheduleStrategy {
  return o.strategy === 'pct'
    ? pctStrategy({ seed, depth: o.depth, steps: o.steps, vcpus })
    : randomStrategy(seed);
}

/** Runs the guest once, seeded, under `schedule`; `details` records each call for a trace. */
export async function runSeeded(
  o: Pick<CampaignOptions, 'makeVm' | 'guest' | 'args' | 'maxExits' | 'mapFailure' | 'signal' | 'threads'>,
  seed: number,
  schedule: (vcpus: number) => ScheduleStrategy,
  details = false,
): Promise<SeededRun> {
  const vm = o.makeVm();
  try {
    if (details) vm.partition.dispatcher.recordDetails(true);
    const raw = await runGuest(vm, {
      guest: o.guest,
      args: o.args,
      seed,
      schedule: schedule(vm.vcpus),
      maxExits: o.maxExits,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
      ...(o.threads === undefined ? {} : { threads: o.threads }),
    });
    const map = o.mapFailure ?? ((f: RunFailure) => f);
    const result = { ...raw, failures: raw.failures.map(map) };
    const bad = result.failures.find((f) => f.kind === 'load' || f.kind === 'throw');
    if (bad !== undefined) throw new GuestInputFailure(bad);
    const diagnostics = vm.takeDiagnostics();
    return { result, diagnostics, verdict: classifyRun(result.failures, diagnostics) };
  } finally {
    vm.close();
  }
}

function record(seed: number, run: SeededRun): RunRecord {
  const s = run.result.schedule;
  const v = run.verdict;
  return {
    seed,
    passed: v.passed,
    ...(v.failureClass === undefined ? {} : { failureClass: v.failureClass }),
    ...(v.signature === undefined ? {} : { signature: v.signature }),
    ...(v.messages[0] === undefined ? {} : { message: v.messages[0] }),
    hypercalls: run.result.hypercalls,
    decisions: s?.choices.length ?? 0,
    preemptions: s?.preemptions ?? 0,
    choices: s?.defaulted ?? [],
  };
}

/** Runs `items` through `work`, at most `jobs` at once. */
async function pool<T>(items: readonly T[], jobs: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
}

/** The campaign's runs (by seed) and failure groups (by signature). */
export async function runCampaign(
  o: CampaignOptions,
): Promise<{ runs: RunRecord[]; groups: FailureGroup[] }> {
  const bySeed = new Map<number, RunRecord>();
  await pool(o.seeds, o.jobs, async (seed) => {
    const run = await runSeeded(o, seed, (vcpus) => strategyFor(o, seed, vcpus));
    const r = record(seed, run);
    bySeed.set(seed, r);
    o.onRun?.(r, bySeed.size);
  });
  const runs = o.seeds.map((s) => bySeed.get(s)!);
  return { runs, groups: await groupFailures(o, runs) };
}

/** Groups the failed runs by signature and shrinks each group's smallest seed. */
export async function groupFailures(
  o: Pick<
    CampaignOptions,
    'makeVm' | 'guest' | 'args' | 'maxExits' | 'mapFailure' | 'signal' | 'shrinkRuns' | 'onShrink'
  >,
  runs: readonly RunRecord[],
): Promise<FailureGroup[]> {
  const bySignature = new Map<string, RunRecord[]>();
  for (const r of runs) {
    if (r.passed || r.signature === undefined) continue;
    const list = bySignature.get(r.signature) ?? [];
    list.push(r);
    bySignature.set(r.signature, list);
  }
  const groups: FailureGroup[] = [];
  for (const [signature, list] of [...bySignature].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const first = list.reduce((a, b) => (b.seed < a.seed ? b : a));
    let minimized = { choices: first.choices, preemptions: first.preemptions, runs: 0 };
    if (o.shrinkRuns > 0 && first.preemptions > 0) {
      const { best, runs: used } = await shrinkSchedule(
        { failed: true, choices: first.choices, defaulted: first.choices, preemptions: first.preemptions },
        async (candidate) => {
          const run = await runSeeded(o, first.seed, () => replayStrategy(candidate));
          const s = run.result.schedule;
          o.onShrink?.(signature, 1);
          return {
            failed: run.verdict.signature === signature,
            choices: s?.choices ?? [],
            defaulted: s?.defaulted ?? [],
            preemptions: s?.preemptions ?? 0,
          };
        },
        { maxRuns: o.shrinkRuns },
      );
      minimized = { choices: best.defaulted ?? best.choices, preemptions: best.preemptions, runs: used };
    }
    groups.push({
      signature,
      failureClass: first.failureClass!,
      message: first.message ?? signature,
      seeds: list.map((r) => r.seed).sort((a, b) => a - b),
      seed: first.seed,
      original: { preemptions: first.preemptions, decisions: first.decisions },
      minimized,
    });
  }
  return groups;
}
