/**
 * The files of a campaign's `--out` directory that `explore` and `explore merge` both write, by
 * one writer so that their formats cannot drift: runs.jsonl, groups.jsonl and campaign.json.
 */
import { join } from 'node:path';
import { TraceWriteError, writeFileAtomically } from '../trace/write.js';
import type { FailureGroup, RunRecord } from './campaign.js';
import type { Written } from './report.js';
import type { StrategyName } from './strategy.js';

/**
 * What every shard of a campaign must share (`campaign.json`; `explore merge` refuses shards
 * that differ in any of it).
 */
export interface CampaignSettings {
  readonly vcpus: number;
  readonly strategy: StrategyName;
  readonly depth: number;
  readonly steps: number;
  readonly guest: string | null;
  readonly args: Readonly<Record<string, string>>;
  readonly flags: readonly string[];
  readonly maxExits: number;
  readonly shrinkRuns: number;
  readonly seeds: { readonly from: number; readonly to: number };
}

/** `campaign.json`: the settings, the shards that ran, and their time. */
export type CampaignFile = CampaignSettings & {
  readonly shards: readonly { readonly index: number; readonly count: number }[];
  readonly seconds: number;
};

/** Writes one of explore's files whole, or fails naming it (`TraceWriteError`, exit 2). */
export const writeOut = (path: string, text: string) =>
  writeFileAtomically(path, text, 'explore output', TraceWriteError);

/** One JSON object a line. */
const jsonLines = (items: readonly unknown[]) => items.map((x) => `${JSON.stringify(x)}\n`).join('');

/** Writes runs.jsonl (by seed), groups.jsonl (each with its files) and campaign.json into `outDir`. */
export function writeCampaignFiles(
  outDir: string,
  runs: readonly RunRecord[],
  groups: readonly FailureGroup[],
  written: ReadonlyMap<string, Written>,
  campaign: CampaignFile,
): void {
  writeOut(join(outDir, 'runs.jsonl'), jsonLines(runs));
  writeOut(
    join(outDir, 'groups.jsonl'),
    jsonLines(groups.map((g) => ({ ...g, files: written.get(g.signature) }))),
  );
  writeOut(join(outDir, 'campaign.json'), `${JSON.stringify(campaign, null, 2)}\n`);
}
