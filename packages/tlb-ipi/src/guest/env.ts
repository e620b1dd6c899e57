import type { GuestHypercalls, HyperVInfo } from '@pvlab/hypercall/guest';
import { VP_INVAL } from '@pvlab/hypercall/guest';

/** Linux's `hv_vp_index[]` as the enlightened paths read it (a `VpIndexTable` is one). */
export interface VpIndexLookup {
  /** The VP index of `cpu`, or VP_INVAL while the CPU is not online (spec 02 rule 8). */
  get(cpu: number): number;
  /** `hv_max_vp_index`: the highest known VP index, or −1. */
  maxVpIndex(): number;
}

/**
 * What one CPU's enlightened flush and IPI paths know — Linux's `ms_hyperv.hints`,
 * `hv_vp_index[]`, `cpu_present_mask`, `smp_processor_id()` and this CPU's
 * `hyperv_pcpu_input_arg`. Plain data, so the choice functions stay pure.
 */
export interface HvCpuEnv {
  /** This CPU's number. */
  readonly self: number;
  /** `cpu_present_mask` is CPUs 0..presentCpus−1. */
  readonly presentCpus: number;
  readonly vpIndex: VpIndexLookup;
  /** CPUID 0x40000004 EAX bit 2: `hyperv_setup_mmu_ops` installs the flush path (spec 02 rule 1). */
  readonly remoteTlbFlush: boolean;
  /** CPUID 0x40000004 EAX bit 10: `hv_apic_init` installs the IPI path (spec 02 rule 1). */
  readonly clusterIpi: boolean;
  /** CPUID 0x40000004 EAX bit 11: the Ex (HV_VP_SET) forms may be used (spec 02 rules 4, 6). */
  readonly exProcessorMasks: boolean;
  /** Bytes of this CPU's hypercall input page; 0 when there is no hypercall page or input page. */
  readonly inputPageBytes: number;
  /**
   * Linux's `hv_hypercall_pg`: the hypercall page is enabled, so register-only (fast) calls work
   * even while this CPU has no input page yet (before its `hv_common_cpu_init`). Default:
   * `inputPageBytes > 0`.
   */
  readonly hypercallPage?: boolean;
  /**
   * `true` (default): a VP_INVAL entry sends the call native, as Linux does since 2018.
   * `false` reproduces the historical bug: the entry is used as the `int` −1 (spec 02 rule 8).
   */
  readonly vpInvalCheck?: boolean;
}

/** Builds a CPU's `HvCpuEnv` from what the guest detected and the CPU's hypercall pages. */
export function hvCpuEnv(options: {
  readonly self: number;
  readonly presentCpus: number;
  readonly vpIndex: VpIndexLookup;
  readonly info: HyperVInfo;
  readonly hypercalls: GuestHypercalls | undefined;
  readonly vpInvalCheck?: boolean;
}): HvCpuEnv {
  // A CPU with hypercall helpers has the hypercall page, whether or not it has its input page yet.
  return {
    self: options.self,
    presentCpus: options.presentCpus,
    vpIndex: options.vpIndex,
    remoteTlbFlush: options.info.has('RemoteTlbFlushRecommended'),
    clusterIpi: options.info.has('ClusterIpiRecommended'),
    exProcessorMasks: options.info.has('ExProcessorMasksRecommended'),
    inputPageBytes: options.hypercalls?.pages.inputBytes ?? 0,
    hypercallPage: options.hypercalls !== undefined,
    vpInvalCheck: options.vpInvalCheck ?? true,
  };
}

/**
 * Linux `hv_cpu_number_to_vp_number`: the table entry as an `int`, so VP_INVAL reads as −1 —
 * which `>= 64` tests miss and only an explicit VP_INVAL test catches (spec 02 rule 8).
 */
export function hvCpuNumberToVpNumber(env: HvCpuEnv, cpu: number): number {
  return env.vpIndex.get(cpu) | 0;
}

/** `true` when `vp` (from `hvCpuNumberToVpNumber`) is VP_INVAL and this CPU tests for it. */
export function isVpInval(env: HvCpuEnv, vp: number): boolean {
  return env.vpInvalCheck !== false && vp >>> 0 === VP_INVAL;
}

/**
 * The target CPUs as Linux walks a cpumask: ascending, each once. Throws a RangeError for a CPU
 * that is not present (a kernel bug, not guest data).
 */
export function normalizeCpumask(env: Pick<HvCpuEnv, 'presentCpus'>, cpus: Iterable<number>): number[] {
  const out = [...new Set(cpus)].sort((a, b) => a - b);
  for (const cpu of out) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= env.presentCpus)
      throw new RangeError(`CPU ${cpu} is not present (CPUs 0..${env.presentCpus - 1})`);
  }
  return out;
}

/** `cpumask_equal(cpus, cpu_present_mask)` for a normalized mask. */
export function isPresentMask(env: HvCpuEnv, cpus: readonly number[]): boolean {
  return cpus.length === env.presentCpus;
}
