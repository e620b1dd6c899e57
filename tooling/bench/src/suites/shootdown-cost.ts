import {
  type CostStrategy,
  type FlushRequest,
  ipiCost,
  shootdownCost,
  TLB_FLUSH_ALL,
} from '@pvlab/tlb-ipi/guest';
import type { BenchSuite, BenchTable } from '../suite.js';

const PGD = 0x1_2000n;
const MIB = 1024n * 1024n;
const range = (pages: bigint): FlushRequest => ({
  pgd: PGD,
  start: 0x7f00_0000_0000n,
  end: 0x7f00_0000_0000n + pages * 4096n,
});
const FULL: FlushRequest = { pgd: PGD, start: 0n, end: TLB_FLUSH_ALL };
const upTo = (n: number, from = 1) => Array.from({ length: n - from + 1 }, (_, i) => from + i);

/** Target sets below and above VP 64 (CPU n = VP n on a 4096-CPU VM). */
const SETS: readonly (readonly [string, readonly number[]])[] = [
  ['VPs {1,2,3}', [1, 2, 3]],
  ['VPs 1..63', upTo(63)],
  ['VPs {1,65}', [1, 65]],
  ['VPs 1..127', upTo(127)],
  ['VPs {2,130}', [2, 130]],
  ['VP 4095', [4095]],
];
const REQUESTS: readonly (readonly [string, FlushRequest])[] = [
  ['4 pages', range(4n)],
  ['64 MiB', range((64n * MIB) / 4096n)],
  ['full mm', FULL],
];

/**
 * Bytes of hypercall input and hypercalls per shootdown (and per IPI) with Linux's cheapest
 * choice versus always the Ex (HV_VP_SET) form, for target sets below and above VP 64. The
 * figures are exact (computed from the plans the guest would issue), not timed.
 */
export const shootdownCostSuite: BenchSuite = {
  name: 'shootdown-cost',
  run() {
    const rows: Record<string, string | number | null>[] = [];
    const cell = (strategy: CostStrategy, targets: readonly number[], request: FlushRequest | 'ipi') => {
      const c =
        request === 'ipi' ? ipiCost(targets, 0xf2, strategy) : shootdownCost(targets, request, strategy);
      return { call: c.call, bytes: c.inputBytes, calls: c.hypercalls };
    };
    for (const [setName, targets] of SETS) {
      for (const [reqName, request] of [...REQUESTS, ['IPI', 'ipi'] as const]) {
        const linux = cell('linux', targets, request);
        const ex = cell('always-ex', targets, request);
        rows.push({
          targets: setName,
          request: reqName,
          'linux call': linux.call,
          'linux bytes': linux.bytes,
          'linux hypercalls': linux.calls,
          'always-Ex call': ex.call,
          'always-Ex bytes': ex.bytes,
          'always-Ex hypercalls': ex.calls,
        });
      }
    }
    const table: BenchTable = {
      id: 'shootdown-cost',
      title: 'per shootdown / IPI: hypercall input bytes and hypercalls, Linux cheapest choice vs always-Ex',
      columns: Object.keys(rows[0]!),
      rows,
    };
    return {
      title: 'tlb-ipi guest: shootdown cost, Linux vs always-Ex (exact, not timed)',
      rows: [],
      ratios: [],
      tables: [table],
    };
  },
};
