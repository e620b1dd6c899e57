/**
 * `pvlab-host explore`: seeded runs of a guest by the hundred under a strategy, failures grouped
 * by signature, each group's smallest seed shrunk, and for each group a schedule file, its trace
 * and the command that replays it. Exit 0 when every run passed, 1 when one failed, 2 for bad input.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { guestImageUrl } from '@pvlab/guest-emulator';
import { formatFailure } from '../guest-failures.js';
import { type PreparedGuest, prepareGuest } from '../guest-module.js';
import { type CommandIo, ExitCode } from '../run-command.js';
import {
  checkBuiltInGuestArgs,
  checkGuestFile,
  makeVm,
  parseGuestArgs,
  UsageError,
  type VmRequest,
} from '../run-inputs.js';
import { VcpuThreadPool } from '../threaded/thread-pool.js';
import { toChromeTrace } from '../trace/chrome.js';
import { createProgress } from '../trace/progress.js';
import { writeTraceFile } from '../trace/write.js';
import {
  type CampaignOptions,
  type FailureGroup,
  GuestInputFailure,
  runCampaign,
  runSeeded,
} from './campaign.js';
import { type CampaignSettings, writeCampaignFiles, writeOut } from './files.js';
import {
  DEFAULT_COUNT,
  DEFAULT_MAX_EXITS,
  DEFAULT_SHRINK_RUNS,
  parseSeedRange,
  parseShard,
  shardSeeds,
} from './options.js';
import { replayStrategy } from './record.js';
import { report, type Written } from './report.js';
import { encodeScheduleFile, type ScheduleFile } from './schedule-file.js';
import { randomStrategy, type StrategyName } from './strategy.js';

/** `pvlab-host explore` options, parsed. */
export interface ExploreCommandOptions extends VmRequest {
  readonly guestArg?: readonly string[];
  readonly seeds?: string;
  readonly count?: number;
  readonly strategy?: StrategyName;
  readonly depth?: number;
  readonly steps?: number;
  readonly jobs?: number;
  readonly shard?: string;
  readonly maxExits?: number;
  readonly shrinkRuns?: number;
  readonly out?: string;
  readonly json?: boolean;
}

/** The flags that made this VM, as `run` takes them: what a replay command must repeat. */
function vmFlagsArgv(o: VmRequest): string[] {
  const a: string[] = [];
  if (o.vcpus !== undefined) a.push('--vcpus', String(o.vcpus));
  // x64 is run's default too.
  if (o.arch !== undefined && o.arch !== 'x64') a.push('--arch', o.arch);
  if (o.isolation !== undefined) a.push('--isolation', String(o.isolation));
  if (o.hostileHost !== undefined) a.push('--hostile-host', String(o.hostileHost));
  for (const [name, on] of Object.entries(o.feature ?? {}))
    a.push('--feature', `${name}=${on ? 'on' : 'off'}`);
  for (const pkg of o.without ?? []) a.push('--without', pkg);
  if (o.memory !== undefined) a.push('--memory', String(o.memory));
  if (o.tlbFlush !== undefined) a.push('--tlb-flush', o.tlbFlush);
  if (o.maxRepsPerCall !== undefined) a.push('--max-reps-per-call', String(o.maxRepsPerCall));
  return a;
}

const shellWord = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`);

function checkOutDir(path: string): string {
  const full = resolve(path);
  if (existsSync(full) && !statSync(full).isDirectory())
    throw new UsageError(`--out '${path}': is not a directory`);
  return full;
}

/** A replay past the list's end takes the default: trailing −1s say nothing. */
function withoutTrailingDefaults(choices: readonly number[]): number[] {
  let end = choices.length;
  while (end > 0 && choices[end - 1] === -1) end--;
  return choices.slice(0, end);
}

/** A group's file stem: the same in every shard and in a merge (a hash of its signature). */
const groupStem = (signature: string) =>
  `group-${createHash('sha256').update(signature).digest('hex').slice(0, 10)}`;

export async function exploreCommand(opts: ExploreCommandOptions, io: CommandIo): Promise<number> {
  if (opts.seeds !== undefined && opts.count !== undefined)
    throw new UsageError(`--seeds ${opts.seeds} and --count ${opts.count}: give one of them`);
  const range =
    opts.seeds !== undefined
      ? parseSeedRange(opts.seeds)
      : { from: 0, to: (opts.count ?? DEFAULT_COUNT) - 1 };
  const shard = opts.shard === undefined ? { index: 0, count: 1 } : parseShard(opts.shard, process.env);
  const strategy = opts.strategy ?? 'random';
  if (strategy === 'random' && (opts.depth !== undefined || opts.steps !== undefined))
    throw new UsageError(`--${opts.depth !== undefined ? 'depth' : 'steps'}: only with --strategy pct`);
  if (opts.restore !== undefined) throw new UsageError('--restore: explore starts every run from a fresh VM');
  const guestFile = opts.guest === undefined ? undefined : checkGuestFile(opts.guest);
  const args = parseGuestArgs(opts.guestArg ?? []);
  const outDir = checkOutDir(opts.out ?? 'pvlab-explore');
  // The VM the flags describe, made once here so that bad flags are refused before any run.
  const probe = makeVm(opts);
  if (opts.guest === undefined) checkBuiltInGuestArgs(probe, args);
  const vcpus = probe.vcpus;
  probe.close();

  const prepared: PreparedGuest | undefined =
    guestFile === undefined ? undefined : await prepareGuest(guestFile);
  const progress = createProgress({ stream: io.progressStream ?? { isTTY: false, write: () => true } });
  // Every run of the campaign (and the shrinking and the traces after) reuses these threads.
  const threads = new VcpuThreadPool();
  try {
    const base = {
      makeVm: () => makeVm(opts),
      guest: prepared?.url ?? guestImageUrl(),
      args,
      maxExits: opts.maxExits ?? DEFAULT_MAX_EXITS,
      ...(prepared === undefined ? {} : { mapFailure: prepared.mapFailure }),
      ...(io.interrupt === undefined ? {} : { signal: io.interrupt }),
      threads,
    };
    // PCT's k when not given: the decisions of the range's first seed under the random strategy,
    // the same for every shard (spec 08 rule 16).
    const steps =
      strategy === 'pct'
        ? (opts.steps ??
          Math.max(
            1,
            (await runSeeded(base, range.from, () => randomStrategy(range.from))).result.schedule?.choices
              .length ?? 1,
          ))
        : 1;
    const depth = opts.depth ?? (strategy === 'pct' ? 3 : 1);
    const runsStarted = performance.now();
    const seeds = shardSeeds(range.from, range.to, shard);
    // Failures so far by group (signature), for the progress line.
    const counts = new Map<string, number>();
    let runsEnded = performance.now();
    const o: CampaignOptions = {
      ...base,
      strategy,
      depth,
      steps,
      seeds,
      jobs: opts.jobs ?? 1,
      shrinkRuns: opts.shrinkRuns ?? DEFAULT_SHRINK_RUNS,
      onRun: (r, done) => {
        if (done === seeds.length) runsEnded = performance.now();
        if (r.signature !== undefined) counts.set(r.signature, (counts.get(r.signature) ?? 0) + 1);
        const rate = done / ((performance.now() - runsStarted) / 1000);
        const failed = [...counts.values()].reduce((a, b) => a + b, 0);
        const groups =
          counts.size === 0
            ? 'no failures'
            : `${failed} failed in ${counts.size} group${counts.size > 1 ? 's' : ''} (${[...counts.values()].join(', ')})`;
        progress.update(`${done}/${seeds.length} runs · ${groups} · ${rate.toFixed(1)} runs/s`);
      },
      onShrink: () => progress.update('minimizing failing schedules…'),
    };
    const { runs, groups } = await runCampaign(o);
    // Runs per second over the runs themselves: shrinking and writing come after.
    const seconds = (runsEnded - runsStarted) / 1000;
    progress.stop();
    const settings: CampaignSettings = {
      vcpus,
      strategy,
      depth,
      steps,
      guest: opts.guest ?? null,
      args,
      flags: vmFlagsArgv(opts),
      maxExits: o.maxExits,
      shrinkRuns: o.shrinkRuns,
      seeds: range,
    };
    const written = await writeGroupFiles(o, opts, outDir, groups, settings);
    writeCampaignFiles(outDir, runs, groups, written, {
      ...settings,
      shards: [shard],
      seconds: Math.round(seconds * 1000) / 1000,
    });
    report(io, opts.json === true, {
      runs,
      groups,
      written,
      seconds,
      strategy,
      depth,
      steps,
      shard,
      seeds: range,
    });
    return groups.length === 0 ? ExitCode.OK : ExitCode.GUEST_FAILED;
  } catch (e) {
    if (e instanceof GuestInputFailure) {
      io.err(formatFailure(e.failure));
      return ExitCode.USAGE;
    }
    throw e;
  } finally {
    progress.stop();
    await threads.close();
    prepared?.cleanup();
  }
}

/** Each group's schedule file and trace (the shrunk schedule replayed), and its replay command. */
async function writeGroupFiles(
  o: CampaignOptions,
  opts: ExploreCommandOptions,
  outDir: string,
  groups: readonly FailureGroup[],
  meta: CampaignSettings,
): Promise<Map<string, Written>> {
  mkdirSync(outDir, { recursive: true });
  const written = new Map<string, Written>();
  for (const g of groups) {
    const stem = groupStem(g.signature);
    // The minimized schedule, replayed with every call decoded: its trace, and its own failure.
    const replayed = await runSeeded(o, g.seed, () => replayStrategy(g.minimized.choices), true);
    const schedule: ScheduleFile = {
      format: 'pvlab-schedule',
      version: 1,
      vcpus: meta.vcpus,
      strategy: meta.strategy,
      seed: g.seed,
      ...(meta.strategy === 'pct' ? { depth: meta.depth, steps: meta.steps } : {}),
      ...(opts.guest === undefined ? {} : { guest: opts.guest }),
      ...(Object.keys(o.args).length === 0 ? {} : { args: { ...o.args } }),
      failure: {
        class: g.failureClass,
        signature: g.signature,
        message: replayed.verdict.messages[0] ?? g.message,
      },
      preemptions: g.minimized.preemptions,
      choices: withoutTrailingDefaults(g.minimized.choices),
    };
    const schedulePath = join(outDir, `${stem}.schedule.json`);
    writeOut(schedulePath, encodeScheduleFile(schedule));
    const tracePath = join(outDir, `${stem}.trace.json`);
    writeTraceFile(
      tracePath,
      toChromeTrace(replayed.result.events, {
        vcpus: meta.vcpus,
        guest: opts.guest ?? '@pvlab/guest-emulator',
        seed: g.seed,
      }),
    );
    const replay = [
      'pvlab-host',
      'run',
      '--schedule',
      schedulePath,
      ...vmFlagsArgv(opts),
      '--trace',
      'replay.json',
    ]
      .map(shellWord)
      .join(' ');
    written.set(g.signature, { schedule: schedulePath, trace: tracePath, replay });
  }
  return written;
}
