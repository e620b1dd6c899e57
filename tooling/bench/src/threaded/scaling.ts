import { availableParallelism } from 'node:os';
import { median, medianIndex, quantile } from '../stats.js';
import type { BenchRatio, BenchTable, TimingOptions } from '../suite.js';
import { SCALING_BATCH } from './budget.js';
import { runSpinWaitLoop } from './guest-run.js';
import { us } from './samples.js';
import type { SpinSource } from './spin-source.js';

const SCALING_VCPUS = [1, 2, 4, 8] as const;
const SEEDED_VCPUS = 8;

type Cells = Record<string, string | number | null>;

/** `1.23M`, `456k`: three significant digits, for the list of every round's rate. */
function si3(v: number): string {
  return v >= 1e6
    ? `${(v / 1e6).toPrecision(3)}M`
    : v >= 1e3
      ? `${(v / 1e3).toPrecision(3)}k`
      : v.toPrecision(3);
}

/**
 * Scaling: the fast loop on 1, 2, 4 and 8 vCPUs at once (no seed), and 8 vCPUs seeded (one at a
 * time), every configuration once per round. A configuration's row is its median round, with the
 * median aggregate rate of all rounds; the ratios compare those medians.
 */
export async function measureScaling(
  timing: TimingOptions,
  spin: SpinSource,
  progress: (line: string) => void,
): Promise<{ table: BenchTable; ratios: BenchRatio[] }> {
  const configs: { vcpus: number; seed?: number }[] = [
    ...SCALING_VCPUS.map((vcpus) => ({ vcpus })),
    { vcpus: SEEDED_VCPUS, seed: 1 },
  ];
  const runs = new Map<string, Cells[]>();
  for (let round = 1; round <= timing.rounds; round++) {
    for (const cfg of configs) {
      const key = `${cfg.vcpus} vCPU${cfg.vcpus === 1 ? '' : 's'}${cfg.seed === undefined ? '' : `, seed ${cfg.seed}`}`;
      const r = await runSpinWaitLoop(cfg.vcpus, 'fast', SCALING_BATCH, timing, spin, cfg.seed);
      const t0 = Math.min(...r.perVp.map((s) => s.t0));
      const t1 = Math.max(...r.perVp.map((s) => s.t1));
      const calls = r.perVp.reduce((a, s) => a + s.timed, 0);
      const perCall = r.perVp.flatMap((s) => s.batches.map((ms) => (ms * 1000) / SCALING_BATCH));
      const perVpCalls = r.perVp.map((s) => s.timed);
      runs.set(key, [
        ...(runs.get(key) ?? []),
        {
          config: key,
          vcpus: cfg.vcpus,
          threads: cfg.seed === undefined ? cfg.vcpus + 1 : `${cfg.vcpus + 1} (2 busy)`,
          'spin limit': r.spinLimit,
          'timed calls': calls,
          'window ms': us(t1 - t0),
          'hypercalls/s': calls / ((t1 - t0) / 1000),
          'µs/call p50': us(quantile(perCall, 0.5)),
          'µs/call p90': us(quantile(perCall, 0.9)),
          // A seeded run's event durations are virtual time: no host figure.
          'host µs/exit p50': cfg.seed === undefined ? us(quantile(r.hostUs, 0.5)) : null,
          'fewest/most calls per vCPU': `${Math.min(...perVpCalls)}/${Math.max(...perVpCalls)}`,
        },
      ]);
      progress(`  round ${round}/${timing.rounds}: scaling ${key} done`);
    }
  }
  const rows: Cells[] = [...runs.values()].map((perRound) => {
    const rates = perRound.map((x) => x['hypercalls/s'] as number);
    return {
      ...perRound[medianIndex(rates)]!,
      'hypercalls/s': median(rates),
      'rounds hypercalls/s': rates.map(si3).join(' '),
    };
  });
  const agg = (key: string) => rows.find((s) => s.config === key)!['hypercalls/s'] as number;
  const scalingRatio = (num: string, den: string, description: string): BenchRatio => ({
    id: `scaling ${num}/${den}`,
    description,
    numerator: num,
    denominator: den,
    value: agg(num) / agg(den),
  });
  return {
    table: {
      id: 'scaling',
      title: `scaling: fast NotifyLongSpinWait on every vCPU (no seed: all at once; seeded: one at a time), batches of ${SCALING_BATCH}, ${availableParallelism()} CPUs`,
      columns: [
        'config',
        'threads',
        'spin limit',
        'timed calls',
        'window ms',
        'hypercalls/s',
        'µs/call p50',
        'µs/call p90',
        'host µs/exit p50',
        'fewest/most calls per vCPU',
        'rounds hypercalls/s',
      ],
      rows,
    },
    ratios: [
      scalingRatio('2 vCPUs', '1 vCPU', 'aggregate hypercalls/s, 2 vCPUs ÷ 1'),
      scalingRatio('4 vCPUs', '1 vCPU', 'aggregate hypercalls/s, 4 vCPUs ÷ 1'),
      scalingRatio('8 vCPUs', '1 vCPU', 'aggregate hypercalls/s, 8 vCPUs ÷ 1'),
      scalingRatio(`${SEEDED_VCPUS} vCPUs, seed 1`, `${SEEDED_VCPUS} vCPUs`, 'seeded ÷ parallel, same vCPUs'),
    ],
  };
}
