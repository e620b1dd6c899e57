import type { GuestMemory } from '@pvlab/hypercall';
import type { SnapshotPart } from '@pvlab/hypercall/host';
import { SmcccFunction } from '../wire/ids.js';
import { SMCCC_RET_NOT_SUPPORTED, SMCCC_RET_SUCCESS } from '../wire/return-codes.js';
import { isStolenTimeRecordAligned, StolenTimeRecord } from '../wire/stolen-time-record.js';
import { pvTimeSnapshotPart } from './snapshot.js';
import { PV_TIME_IPA_UNSET, type PvTimeVcpuState } from './vcpu-state.js';
import { VmmError } from './vmm-error.js';

/** KVM_ARM_VCPU_PVTIME_CTRL: the vCPU device-attribute group of PV time. */
export const KVM_ARM_VCPU_PVTIME_CTRL = 2;
/** KVM_ARM_VCPU_PVTIME_IPA: the attribute holding a vCPU's record IPA. */
export const KVM_ARM_VCPU_PVTIME_IPA = 0;
/** KVM_REG_ARM_STD_HYP_BMAP bit 0: the PV time service is visible to the guest. */
export const KVM_REG_ARM_STD_HYP_BIT_PV_TIME = 0;

/** Options of a `PvTimeHost`. */
export interface PvTimeHostOptions {
  /**
   * Clear KVM_REG_ARM_STD_HYP_BMAP bit 0: ARCH_FEATURES(PV_TIME_FEATURES), PV_TIME_FEATURES and
   * PV_TIME_ST all answer NOT_SUPPORTED, whatever IPAs are set. Default false.
   */
  readonly hidden?: boolean;
  /**
   * Whether the host accounts run-queue delay (KVM needs `sched_info_on()`); when false, setting
   * an IPA is refused with ENXIO, as on a kernel without it. Default true.
   */
  readonly schedInfo?: boolean;
}

/** One stolen-time update written to guest memory (for traces). */
export interface StolenTimeUpdate {
  readonly vcpu: number;
  /** The record's IPA. */
  readonly ipa: bigint;
  /** StolenTime as read from the record before the update. */
  readonly previous: bigint;
  /** StolenTime as stored. */
  readonly stolenTime: bigint;
}

interface VcpuSteal {
  ipa: bigint | undefined;
  runDelayNs: bigint;
  lastStealNs: bigint;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const STOLEN_TIME_OFFSET = BigInt(StolenTimeRecord.stolenTime);

/**
 * The KVM side of arm64 PV stolen time (spec 06, arch/arm64/kvm/pvtime.c): per-vCPU record
 * IPAs set by the VMM, run-queue delay accounting, the rule-7 record update and the two
 * hypercalls. Install the hypercalls into an `SmcccConduit` with `installPvTime`.
 */
export class PvTimeHost {
  readonly memory: GuestMemory;
  readonly vcpus: number;
  readonly schedInfo: boolean;
  #hidden: boolean;
  readonly #state: VcpuSteal[];

  constructor(memory: GuestMemory, vcpus: number, options: PvTimeHostOptions = {}) {
    if (!Number.isInteger(vcpus) || vcpus < 1) {
      throw new RangeError(`PvTimeHost vcpus = ${vcpus} is not accepted: use an integer ≥ 1`);
    }
    this.memory = memory;
    this.vcpus = vcpus;
    this.#hidden = options.hidden ?? false;
    this.schedInfo = options.schedInfo ?? true;
    this.#state = Array.from({ length: vcpus }, () => ({ ipa: undefined, runDelayNs: 0n, lastStealNs: 0n }));
  }

  /** `true` while KVM_REG_ARM_STD_HYP_BMAP bit 0 is clear (the service is hidden from the guest). */
  get hidden(): boolean {
    return this.#hidden;
  }

  /** Sets or clears the hide switch (KVM lets the VMM write the bitmap before the vCPUs first run). */
  setHidden(hidden: boolean): void {
    this.#hidden = hidden;
  }

  /** KVM_HAS_DEVICE_ATTR(PVTIME_CTRL, PVTIME_IPA): `true` when setting an IPA can succeed. */
  hasStolenTimeAttr(): boolean {
    return this.schedInfo;
  }

  /**
   * KVM_SET_DEVICE_ATTR(PVTIME_CTRL, PVTIME_IPA): sets `vcpu`'s record IPA, once. Checked in KVM's
   * order: ENXIO (no accounting), EINVAL (not 64-byte aligned), EEXIST (already set), EINVAL (the
   * 64 bytes not all in RAM). An `ipa` that is not a u64 is a RangeError.
   */
  setStolenTimeIpa(vcpu: number, ipa: bigint): void {
    const s = this.#vcpu(vcpu);
    if (typeof ipa !== 'bigint' || ipa < 0n || ipa > U64_MAX) {
      throw new RangeError(`stolen-time IPA ${String(ipa)} is not accepted: use a bigint 0..2^64-1`);
    }
    if (!this.schedInfo) {
      throw new VmmError(
        'ENXIO',
        `vCPU ${vcpu}: this host does not account run-queue delay (sched_info off)`,
      );
    }
    if (!isStolenTimeRecordAligned(ipa)) {
      throw new VmmError('EINVAL', `stolen-time IPA ${hex(ipa)} for vCPU ${vcpu} is not 64-byte aligned`);
    }
    if (s.ipa !== undefined) {
      throw new VmmError('EEXIST', `vCPU ${vcpu} already has its stolen-time IPA at ${hex(s.ipa)}`);
    }
    if (!this.memory.contains(ipa, StolenTimeRecord.bytes)) {
      throw new VmmError(
        'EINVAL',
        `stolen-time IPA ${hex(ipa)} for vCPU ${vcpu} is not inside RAM (0x0..${hex(BigInt(this.memory.size - StolenTimeRecord.bytes))} for a 64-byte record)`,
      );
    }
    s.ipa = ipa;
  }

  /** KVM_GET_DEVICE_ATTR: `vcpu`'s record IPA, or `PV_TIME_IPA_UNSET` (all-ones). */
  stolenTimeIpa(vcpu: number): bigint {
    return this.#vcpu(vcpu).ipa ?? PV_TIME_IPA_UNSET;
  }

  /**
   * Accounts `ns` nanoseconds during which `vcpu` was runnable but not running (the host task's
   * run-queue delay grows). The record changes at the next `beforeRun`. A negative or non-bigint
   * `ns` is a RangeError: run-queue delay never shrinks. The delay is a u64 that stops at
   * 2^64-1 ns (584 years) instead of wrapping, so any state a snapshot carries keeps running.
   */
  accountSteal(vcpu: number, ns: bigint): void {
    const s = this.#vcpu(vcpu);
    if (typeof ns !== 'bigint' || ns < 0n) {
      throw new RangeError(`steal of ${String(ns)} ns for vCPU ${vcpu} is not accepted: use a bigint ≥ 0`);
    }
    const total = s.runDelayNs + ns;
    s.runDelayNs = total > U64_MAX ? U64_MAX : total;
  }

  /**
   * Rule 7, before `vcpu` runs: read StolenTime from guest memory, add the run-queue delay since
   * the last update, write it back with one 64-bit store. Nothing (and `undefined`) when the IPA
   * is unset. KVM does this whether or not the service is hidden; so does pvlab.
   */
  beforeRun(vcpu: number): StolenTimeUpdate | undefined {
    const s = this.#vcpu(vcpu);
    if (s.ipa === undefined) return undefined;
    const at = s.ipa + STOLEN_TIME_OFFSET;
    const previous = this.memory.readU64(at);
    const growth = s.runDelayNs - s.lastStealNs;
    s.lastStealNs = s.runDelayNs;
    // u64 arithmetic as in KVM: a record the guest scribbled near 2^64 wraps, it does not throw.
    const stolenTime = BigInt.asUintN(64, previous + growth);
    this.memory.writeU64(at, stolenTime);
    return { vcpu, ipa: s.ipa, previous, stolenTime };
  }

  /**
   * `vcpu` was runnable but not running for `ns` nanoseconds and is now about to run again:
   * `accountSteal(vcpu, ns)` then `beforeRun(vcpu)`, so the record shows the steal at once.
   */
  preempt(vcpu: number, ns: bigint): StolenTimeUpdate | undefined {
    this.accountSteal(vcpu, ns);
    return this.beforeRun(vcpu);
  }

  /** StolenTime as the record in guest memory holds it now, or `undefined` when the IPA is unset. */
  recordedStolenTime(vcpu: number): bigint | undefined {
    const s = this.#vcpu(vcpu);
    return s.ipa === undefined ? undefined : this.memory.readU64(s.ipa + STOLEN_TIME_OFFSET);
  }

  /** `vcpu`'s accounting state. */
  vcpuState(vcpu: number): PvTimeVcpuState {
    const s = this.#vcpu(vcpu);
    return { ipa: s.ipa ?? PV_TIME_IPA_UNSET, runDelayNs: s.runDelayNs, lastStealNs: s.lastStealNs };
  }

  /**
   * Replaces every vCPU's state at once (snapshot restore; the caller has validated it). An unset
   * IPA is `PV_TIME_IPA_UNSET`.
   */
  replaceState(states: readonly PvTimeVcpuState[], hidden: boolean): void {
    if (states.length !== this.vcpus) {
      throw new RangeError(`${states.length} vCPU states for a ${this.vcpus}-vCPU PvTimeHost`);
    }
    states.forEach((st, i) => {
      this.#state[i] = {
        ipa: st.ipa === PV_TIME_IPA_UNSET ? undefined : st.ipa,
        runDelayNs: st.runDelayNs,
        lastStealNs: st.lastStealNs,
      };
    });
    this.#hidden = hidden;
  }

  /**
   * PV_TIME_FEATURES(X1) — rule 3 (kvm_hypercall_pv_features): SUCCESS for X1 ∈ {PV_TIME_FEATURES,
   * PV_TIME_ST} when this vCPU has an IPA, else NOT_SUPPORTED. X1 is read as a u32, as KVM does.
   */
  pvTimeFeatures(vcpu: number, x1: bigint): bigint {
    const s = this.#vcpu(vcpu);
    const feature = Number(x1 & 0xffff_ffffn);
    if (feature !== SmcccFunction.PV_TIME_FEATURES && feature !== SmcccFunction.PV_TIME_ST) {
      return SMCCC_RET_NOT_SUPPORTED;
    }
    return s.ipa === undefined ? SMCCC_RET_NOT_SUPPORTED : SMCCC_RET_SUCCESS;
  }

  /**
   * PV_TIME_ST — rule 4 (kvm_init_stolen_time): the IPA, or NOT_SUPPORTED (KVM returns
   * INVALID_GPA, the same all-ones value). The record is zero-filled and the baseline reset, so
   * StolenTime restarts at 0 from this call on.
   */
  pvTimeSt(vcpu: number): bigint {
    const s = this.#vcpu(vcpu);
    if (s.ipa === undefined) return SMCCC_RET_NOT_SUPPORTED;
    s.lastStealNs = s.runDelayNs;
    this.memory.fill(s.ipa, StolenTimeRecord.bytes, 0);
    return s.ipa;
  }

  /** This host's state as the versioned snapshot part `pv-time` (see `pvTimeSnapshotPart`). */
  snapshotPart(): SnapshotPart {
    return pvTimeSnapshotPart(this);
  }

  #vcpu(vcpu: number): VcpuSteal {
    const s = Number.isInteger(vcpu) ? this.#state[vcpu] : undefined;
    if (!s) throw new RangeError(`vCPU ${vcpu} is not a vCPU of this VM: use 0..${this.vcpus - 1}`);
    return s;
  }
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}
