/** What the kernel can be asked to do: its workloads and options (`--guest-arg`s map to these). */
import type { GetVtlLayout } from '@pvlab/vtl/guest';
import type { IsolationPlace } from './isolation-workload.js';

/** A workload the kernel can run once its CPUs are up. */
export type Workload = 'spin-wait' | 'ipi' | 'ring' | 'tlb' | 'vtl' | 'vmbus' | 'isolation';

/**
 * The historical `hv_vp_index[]` bugs to reproduce (spec 02 rule 8): `inval` — a VP_INVAL entry
 * is used as the `int` −1 (no `== VP_INVAL` test); `stale-zero` — the table is never set to
 * VP_INVAL, so a CPU that is not online reads as VP 0. `none` is the fixed kernel.
 */
export type VpIndexBug = 'none' | 'inval' | 'stale-zero';

/** How the kernel runs (the guest image maps `--guest-arg`s to these: see `kernelOptionsFromArgs`). */
export interface KernelOptions {
  /** Per-CPU input/output areas: a page each, or one page split in two (default `separate`). */
  readonly perCpuLayout?: 'separate' | 'shared-page';
  /** Spin-wait notifications each CPU sends in the workload (default 4). */
  readonly spinWaits?: number;
  /** The workloads to run (default: all of them). */
  readonly workloads?: readonly Workload[];
  /** Reproduce a historical VP index bug (default `none`). */
  readonly vpIndexBug?: VpIndexBug;
  /** Do not install the enlightened flush and IPI paths: native IPIs and shootdowns only. */
  readonly native?: boolean;
  /**
   * Where get_vtl() puts its output (default `fixed`, the 2024 fix); `overlap-bug` reproduces the
   * 2023 original (output == input), which strict mode flags.
   */
  readonly getVtlLayout?: GetVtlLayout;
  /** Packets the VMBus workload echoes (default 2000). */
  readonly vmbusPackets?: number;
  /** Treat the host as untrusted (always so in an isolation VM): survive its misbehaviour. */
  readonly untrustedHost?: boolean;
  /** Reproduce "forgot the boundary" in one place of the isolation workload. */
  readonly isolationForget?: IsolationPlace;
}

/** The workloads, in the order the kernel runs them. */
export const WORKLOADS: readonly Workload[] = [
  'spin-wait',
  'ipi',
  'ring',
  'tlb',
  'vtl',
  'vmbus',
  'isolation',
];
