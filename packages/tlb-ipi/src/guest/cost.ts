import { HV_PAGE_SIZE } from '@pvlab/hypercall';
import type { HvCpuEnv } from './env.js';
import { chooseFlush, type FlushRequest } from './flush-plan.js';
import type { PathPlan, TlbIpiCallName } from './hypercall-plan.js';
import { chooseIpi } from './ipi-plan.js';

/** What one shootdown (or IPI) costs on the hypercall path. */
export interface HypercallCost {
  /** The call chosen, or `none` (nothing to send) / `native`. */
  readonly call: TlbIpiCallName | 'none' | 'native';
  /** Hypercalls issued (a rep call that is not time-sliced is one). */
  readonly hypercalls: number;
  /** Bytes of hypercall input: the input page bytes of a memory call, 16 register bytes of a fast one. */
  readonly inputBytes: number;
}

/** `linux`: Linux's cheapest choice (mask forms below VP 64); `always-ex`: the HV_VP_SET forms only. */
export type CostStrategy = 'linux' | 'always-ex';

/** The VM a cost is computed for: CPU n is VP n; every recommendation is on. */
export interface CostVm {
  /** Present CPUs (default 4096, so a target set is never "all present" unless it names them all). */
  readonly presentCpus?: number;
  /** Per-CPU input page bytes (default 4096). */
  readonly inputPageBytes?: number;
}

function costEnv(vm: CostVm): HvCpuEnv {
  const presentCpus = vm.presentCpus ?? 4096;
  return {
    self: 0,
    presentCpus,
    vpIndex: { get: (cpu) => cpu, maxVpIndex: () => presentCpus - 1 },
    remoteTlbFlush: true,
    clusterIpi: true,
    exProcessorMasks: true,
    inputPageBytes: vm.inputPageBytes ?? HV_PAGE_SIZE,
  };
}

function costOf(plan: PathPlan): HypercallCost {
  if (plan.kind !== 'hypercall') return { call: plan.kind, hypercalls: 0, inputBytes: 0 };
  return { call: plan.name, hypercalls: 1, inputBytes: plan.input.length };
}

/**
 * Bytes of hypercall input and hypercalls for one TLB shootdown of `request` on the VPs
 * `targetVps`, with Linux's cheapest choice or always the Ex form — a pure function for benches.
 */
export function shootdownCost(
  targetVps: readonly number[],
  request: FlushRequest,
  strategy: CostStrategy,
  vm: CostVm = {},
): HypercallCost {
  return costOf(chooseFlush(costEnv(vm), targetVps, request, { alwaysEx: strategy === 'always-ex' }));
}

/** The same for one IPI of `vector` to `targetVps` (sent from VP 0). */
export function ipiCost(
  targetVps: readonly number[],
  vector: number,
  strategy: CostStrategy,
  vm: CostVm = {},
): HypercallCost {
  return costOf(chooseIpi(costEnv(vm), targetVps, vector, { alwaysEx: strategy === 'always-ex' }));
}
