/** How `explore` and `explore merge` report a campaign: a table of groups, or JSON. */
import type { CommandIo } from '../run-command.js';
import type { FailureGroup, RunRecord } from './campaign.js';
import type { StrategyName } from './strategy.js';

/** The files written for a group, and the command that replays it. */
export interface Written {
  readonly schedule: string;
  readonly trace: string;
  readonly replay: string;
}

export function report(
  io: CommandIo,
  json: boolean,
  r: {
    runs: readonly RunRecord[];
    groups: readonly FailureGroup[];
    written: Map<string, Written>;
    seconds: number;
    strategy: StrategyName;
    depth: number;
    steps: number;
    shard: { index: number; count: number };
    seeds: { from: number; to: number };
  },
): void {
  const print = (line: string) => io.out(`${line}\n`);
  const failed = r.runs.filter((x) => !x.passed).length;
  const rate = r.runs.length / Math.max(r.seconds, 1e-3);
  const how = r.strategy === 'pct' ? `pct (depth ${r.depth}, k ${r.steps})` : 'random';
  if (json) {
    print(
      JSON.stringify(
        {
          runs: r.runs.length,
          failed,
          strategy: r.strategy,
          ...(r.strategy === 'pct' ? { depth: r.depth, steps: r.steps } : {}),
          seeds: r.seeds,
          shard: r.shard,
          seconds: Math.round(r.seconds * 1000) / 1000,
          runsPerSecond: Math.round(rate * 10) / 10,
          groups: r.groups.map((g) => ({ ...g, files: r.written.get(g.signature) })),
        },
        null,
        2,
      ),
    );
    return;
  }
  print(
    `${r.runs.length} runs (seeds ${r.seeds.from}..${r.seeds.to}${r.shard.count > 1 ? `, shard ${r.shard.index}/${r.shard.count}` : ''}), ${how}: ${failed} failed, ${rate.toFixed(1)} runs/s`,
  );
  if (r.groups.length === 0) return;
  print('');
  for (const [i, g] of r.groups.entries()) {
    const w = r.written.get(g.signature)!;
    const [line, ...more] = g.message.split('\n');
    print(
      `${i + 1}. ${g.failureClass}: ${line}${more.length > 0 ? ` (and ${more.length} more line${more.length > 1 ? 's' : ''})` : ''}`,
    );
    print(
      `   ${g.seeds.length} run(s), smallest seed ${g.seed}; preemptions ${g.original.preemptions} → ${g.minimized.preemptions} (${g.minimized.runs} shrink runs)`,
    );
    print(`   schedule: ${w.schedule}`);
    print(`   trace:    ${w.trace}`);
    print(`   replay:   ${w.replay}`);
  }
}
