/** A vCPU's PV-time state as the host keeps it and a snapshot saves it. */
import type { GuestMemory } from '@pvlab/hypercall';

/** What GET returns for a vCPU whose IPA is unset (KVM's INVALID_GPA). */
export const PV_TIME_IPA_UNSET = 0xffff_ffff_ffff_ffffn;
/** A vCPU's PV-time host state (what a snapshot saves). */
export interface PvTimeVcpuState {
  /** The record IPA, or `PV_TIME_IPA_UNSET`. */
  readonly ipa: bigint;
  /** Total runnable-but-waiting time accounted to the vCPU (the host task's run_delay); never decreases. */
  readonly runDelayNs: bigint;
  /** `runDelayNs` at the last record update or PV_TIME_ST (KVM's steal.last_steal). */
  readonly lastStealNs: bigint;
}

/** What the snapshot part reads and replaces of a PV-time host (`PvTimeHost` is one). */
export interface PvTimeStateHolder {
  readonly memory: Pick<GuestMemory, 'size' | 'contains'>;
  readonly vcpus: number;
  readonly schedInfo: boolean;
  readonly hidden: boolean;
  vcpuState(vcpu: number): PvTimeVcpuState;
  replaceState(states: readonly PvTimeVcpuState[], hidden: boolean): void;
}
