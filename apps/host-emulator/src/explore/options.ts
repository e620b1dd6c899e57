/**
 * `explore`'s own flags, checked into the campaign's inputs: which seeds (after the shard), the
 * strategy and its depth, the budgets. Bad values are `UsageError`s: one line, exit code 2.
 */
import { UsageError } from '../run-inputs.js';

export const DEFAULT_COUNT = 100;
/** ~50 times what the guest-emulator makes at 4 vCPUs: a livelock fails in seconds. */
export const DEFAULT_MAX_EXITS = 100_000;
export const DEFAULT_SHRINK_RUNS = 200;
const MAX_SEED = 0xffff_ffff;

/** `--seeds A..B`: A to B, both included. */
export function parseSeedRange(text: string): { from: number; to: number } {
  const m = /^(\d+)\.\.(\d+)$/.exec(text);
  const from = Number(m?.[1]);
  const to = Number(m?.[2]);
  if (!m || from > MAX_SEED || to > MAX_SEED || from > to) {
    throw new UsageError(`--seeds '${text}': expected A..B with 0 ≤ A ≤ B ≤ ${MAX_SEED} (both included)`);
  }
  return { from, to };
}

/** `--shard i/n` (i from 0 to n−1) or `auto/n` (i from JOB_COMPLETION_INDEX, a Kubernetes Indexed Job). */
export function parseShard(text: string, env: NodeJS.ProcessEnv): { index: number; count: number } {
  const m = /^(\d+|auto)\/(\d+)$/.exec(text);
  const count = Number(m?.[2]);
  if (!m || !Number.isSafeInteger(count) || count < 1 || count > 1_000_000) {
    throw new UsageError(
      `--shard '${text}': expected i/n or auto/n, with n from 1 to 1000000 and i from 0 to n-1`,
    );
  }
  let index: number;
  if (m[1] === 'auto') {
    const raw = env.JOB_COMPLETION_INDEX;
    if (raw === undefined || !/^\d+$/.test(raw)) {
      throw new UsageError(
        `--shard ${text}: JOB_COMPLETION_INDEX is ${raw === undefined ? 'not set' : `'${raw}'`} (a Kubernetes Indexed Job sets it; elsewhere give --shard i/n)`,
      );
    }
    index = Number(raw);
  } else {
    index = Number(m[1]);
  }
  if (index >= count) {
    throw new UsageError(`--shard '${text}': shard index ${index} is not below the shard count ${count}`);
  }
  return { index, count };
}

/** The seeds of `from..to` that shard `index` of `count` takes: every count-th, from from + index. */
export function shardSeeds(from: number, to: number, shard: { index: number; count: number }): number[] {
  const seeds: number[] = [];
  for (let s = from + shard.index; s <= to; s += shard.count) seeds.push(s);
  return seeds;
}
