/**
 * `pvlab-host explore merge DIR…`: the shards of one campaign made one. Runs are a pure function
 * of their seed and the campaign's settings, and a group's shrink starts from its smallest seed,
 * so the union of the shards' runs, grouped again, with each group's schedule taken from the
 * shard that holds its smallest seed, is what the unsharded campaign gives.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type CommandIo, ExitCode } from '../run-command.js';
import { UsageError } from '../run-inputs.js';
import type { FailureGroup, RunRecord } from './campaign.js';
import { type CampaignFile, writeCampaignFiles } from './files.js';
import { report, type Written } from './report.js';

type GroupLine = FailureGroup & { files?: Written };

function readJson<T>(dir: string, file: string): T {
  const path = join(dir, file);
  if (!existsSync(path))
    throw new UsageError(`explore merge: '${dir}' has no ${file} (give directories explore --out wrote)`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    throw new UsageError(`explore merge: '${path}' is not JSON`);
  }
}

function readLines<T>(dir: string, file: string): T[] {
  const path = join(dir, file);
  if (!existsSync(path))
    throw new UsageError(`explore merge: '${dir}' has no ${file} (give directories explore --out wrote)`);
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch {
        throw new UsageError(`explore merge: '${path}' line ${i + 1} is not JSON`);
      }
    });
}

/** The settings without what differs between shards. */
const shared = (c: CampaignFile) => JSON.stringify({ ...c, shards: undefined, seconds: undefined });

export async function exploreMerge(
  dirs: readonly string[],
  opts: { out: string; json?: boolean },
  io: CommandIo,
): Promise<number> {
  const outDir = resolve(opts.out);
  const parts = dirs.map((d) => {
    const dir = resolve(d);
    return {
      dir,
      campaign: readJson<CampaignFile>(dir, 'campaign.json'),
      runs: readLines<RunRecord>(dir, 'runs.jsonl'),
      groups: readLines<GroupLine>(dir, 'groups.jsonl'),
    };
  });
  const first = parts[0]!;
  for (const p of parts.slice(1)) {
    if (shared(p.campaign) !== shared(first.campaign)) {
      throw new UsageError(
        `explore merge: '${p.dir}' is of another campaign than '${first.dir}' (settings in campaign.json differ)`,
      );
    }
  }
  const bySeed = new Map<number, { run: RunRecord; dir: string }>();
  for (const p of parts) {
    for (const run of p.runs) {
      const seen = bySeed.get(run.seed);
      if (seen !== undefined)
        throw new UsageError(`explore merge: seed ${run.seed} is in both '${seen.dir}' and '${p.dir}'`);
      bySeed.set(run.seed, { run, dir: p.dir });
    }
  }
  const runs = [...bySeed.values()].map((v) => v.run).sort((a, b) => a.seed - b.seed);
  // A group's shrunk schedule is the one from the shard with its smallest seed.
  const groups = new Map<string, { group: GroupLine; seeds: number[]; dir: string }>();
  for (const p of parts) {
    for (const g of p.groups) {
      const have = groups.get(g.signature);
      if (have === undefined) groups.set(g.signature, { group: g, seeds: [...g.seeds], dir: p.dir });
      else {
        have.seeds.push(...g.seeds);
        if (g.seed < have.group.seed) Object.assign(have, { group: g, dir: p.dir });
      }
    }
  }
  mkdirSync(outDir, { recursive: true });
  const written = new Map<string, Written>();
  const merged: FailureGroup[] = [];
  for (const [signature, { group, seeds, dir }] of [...groups].sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    const { files, ...rest } = group;
    merged.push({ ...rest, seeds: seeds.sort((a, b) => a - b) });
    if (files !== undefined) {
      const moved = (path: string) => {
        const to = join(outDir, basename(path));
        if (resolve(path) !== to) copyFileSync(join(dir, basename(path)), to);
        return to;
      };
      const schedule = moved(files.schedule);
      written.set(signature, {
        schedule,
        trace: moved(files.trace),
        replay: files.replay.replace(files.schedule, schedule),
      });
    }
  }
  const shards = parts.flatMap((p) => p.campaign.shards);
  const seconds = parts.reduce((t, p) => t + p.campaign.seconds, 0);
  writeCampaignFiles(outDir, runs, merged, written, { ...first.campaign, shards, seconds });
  const c = first.campaign;
  report(io, opts.json === true, {
    runs,
    groups: merged,
    written,
    seconds,
    strategy: c.strategy,
    depth: c.depth,
    steps: c.steps,
    shard: { index: 0, count: 1 },
    seeds: c.seeds,
  });
  return merged.length === 0 ? ExitCode.OK : ExitCode.GUEST_FAILED;
}
