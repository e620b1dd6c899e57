import { HvStatus, hvStatusName } from '@pvlab/hypercall';
import { ExtensionKey, type HvPartition } from '@pvlab/hypercall/host';
import { HV_MAX_IMPLEMENTED_VTL } from '../wire/ids.js';
import {
  HvInterceptSuspend,
  HvRegisterName,
  HvSuspendRegister,
  HvVsmVpSecureConfig,
  hvRegisterName,
} from '../wire/registers.js';
import { readVpRegister, writeVpRegister } from './register-file.js';
import { VpVtlState } from './vp-vtl-state.js';

/** The package name, under which the host state is kept in the partition. */
export const VTL_PACKAGE = 'vtl';

/** Something the VTL host did, for traces and the integrator's scheduler. */
export type VtlEvent =
  | { readonly kind: 'partition-vtl-enabled'; readonly vtl: number; readonly by: number }
  | { readonly kind: 'vp-vtl-enabled'; readonly vp: number; readonly vtl: number; readonly by: number }
  | {
      readonly kind: 'vtl-switch';
      readonly vp: number;
      readonly from: number;
      readonly to: number;
      readonly via: 'vtl-call' | 'vtl-return';
      /** VtlReturn's FastReturn bit (always false for a VtlCall). */
      readonly fast: boolean;
    }
  | {
      readonly kind: 'tlb-lock';
      readonly vp: number;
      readonly locked: boolean;
      readonly resumed: readonly number[];
    };

/** Options of the VTL host side. */
export interface VtlHostOptions {
  /** The highest VTL the partition implements: 1 (Hyper-V's public TLFS) or 2 (openvmm, default). */
  readonly maximumVtl?: number;
  /**
   * The status for a register name pvlab does not model (spec 03 rule 1): `UNKNOWN_REGISTER_NAME`
   * (0x87, openvmm, default) or `INVALID_PARAMETER` (0x5, the TLFS text).
   */
  readonly unknownRegister?: 'UNKNOWN_REGISTER_NAME' | 'INVALID_PARAMETER';
}

/** The accepted `unknownRegister` values. */
export const UNKNOWN_REGISTER_STATUSES = ['UNKNOWN_REGISTER_NAME', 'INVALID_PARAMETER'] as const;

/** Checks the options and fills in the defaults; a bad value throws a one-line RangeError. */
export function resolveVtlOptions(options: VtlHostOptions): Required<VtlHostOptions> {
  const maximumVtl = options.maximumVtl ?? HV_MAX_IMPLEMENTED_VTL;
  if (maximumVtl !== 1 && maximumVtl !== 2)
    throw new RangeError(`vtl maximumVtl ${String(maximumVtl)}: use 1 or 2`);
  const unknownRegister = options.unknownRegister ?? 'UNKNOWN_REGISTER_NAME';
  if (!UNKNOWN_REGISTER_STATUSES.includes(unknownRegister)) {
    throw new RangeError(
      `vtl unknownRegister '${String(unknownRegister)}': use ${UNKNOWN_REGISTER_STATUSES.join(' or ')}`,
    );
  }
  return { maximumVtl, unknownRegister };
}

/** The VTL host state of one partition: enabled VTLs, every VP's active VTL and register files. */
export class VtlHostState {
  readonly partition: HvPartition;
  readonly maximumVtl: number;
  readonly unknownRegister: 'UNKNOWN_REGISTER_NAME' | 'INVALID_PARAMETER';
  /** Bit n set = VTL n enabled for the partition (HvCallEnablePartitionVtl). */
  partitionEnabledVtls = 1;
  /** VTLs enabled with EnableMbec / EnableSupervisorShadowStack. */
  mbecEnabledVtls = 0;
  sssEnabledVtls = 0;
  /** HvRegisterVsmPartitionConfig, one per VTL (partition-wide). */
  readonly partitionConfig: bigint[];
  readonly vps: readonly VpVtlState[];
  readonly #listeners: ((event: VtlEvent) => void)[] = [];

  constructor(partition: HvPartition, options: VtlHostOptions = {}) {
    const { maximumVtl: max, unknownRegister: unknown } = resolveVtlOptions(options);
    this.partition = partition;
    this.maximumVtl = max;
    this.unknownRegister = unknown;
    this.partitionConfig = Array.from({ length: max + 1 }, () => 0n);
    this.vps = partition.vps.map((vp) => new VpVtlState(vp.index, max + 1));
  }

  /** VP `vp`'s VTL state, or a RangeError naming the valid range. */
  vp(vp: number): VpVtlState {
    const s = Number.isInteger(vp) ? this.vps[vp] : undefined;
    if (s === undefined)
      throw new RangeError(`VP index ${vp} is not in this partition: use 0..${this.vps.length - 1}`);
    return s;
  }

  /** The VTL VP `vp` runs in (what HvRegisterVsmVpStatus.ActiveVtl reports). */
  activeVtl(vp: number): number {
    return this.vp(vp).activeVtl;
  }

  /** The VTLs enabled on VP `vp`, as a bit set (HvRegisterVsmVpStatus.EnabledVtlSet). */
  enabledVtls(vp: number): number {
    return this.vp(vp).enabledVtls;
  }

  /** `true` when VTL `vtl` is enabled for the partition. */
  isPartitionVtlEnabled(vtl: number): boolean {
    return ((this.partitionEnabledVtls >>> vtl) & 1) === 1;
  }

  /** `true` when VTL `vtl` is enabled on VP `vp`. */
  isVpVtlEnabled(vp: number, vtl: number): boolean {
    return ((this.vp(vp).enabledVtls >>> vtl) & 1) === 1;
  }

  /**
   * `true` while VP `vp` may not run (spec 03 rule 11): ExplicitSuspend.Suspended or
   * InterceptSuspend.Suspended is set in its active VTL. pvlab reports it; the scheduler decides.
   */
  isSuspended(vp: number): boolean {
    const s = this.vp(vp);
    const regs = s.registers(s.activeVtl);
    return (
      HvSuspendRegister.decode(regs.get(HvRegisterName.ExplicitSuspend)).Suspended === 1 ||
      HvInterceptSuspend.decode(regs.get(HvRegisterName.InterceptSuspend)).Suspended === 1
    );
  }

  /**
   * `true` while VP `vp`'s TLB is locked (spec 03 rule 9): InterceptSuspend.TlbLocked in any of
   * its VTLs, VsmVpSecureConfigVtlN.TlbLocked in any of its VTLs, or the host's inhibit. Kept in
   * the core (`HvVpState.tlbLocked`) by every change of those (`lockMayHaveChanged`, snapshot
   * restore), so a flush's check of each target costs a field read.
   */
  tlbLocked(vp: number): boolean {
    return this.partition.vp(this.vp(vp).index).tlbLocked;
  }

  /** Works out VP `vp`'s lock from its registers and the host's inhibit, and keeps it in the core. */
  refreshTlbLock(vp: number): boolean {
    const s = this.vp(vp);
    const locked = this.#lockedNow(s);
    this.partition.setTlbLocked(s.index, locked);
    return locked;
  }

  #lockedNow(s: VpVtlState): boolean {
    if (s.hostTlbInhibit) return true;
    for (const regs of s.allRegisters) {
      if (HvInterceptSuspend.decode(regs.get(HvRegisterName.InterceptSuspend)).TlbLocked === 1) return true;
      for (const [name, value] of regs.values) {
        if (
          name >= HvRegisterName.VsmVpSecureConfigVtl0 &&
          name <= HvRegisterName.VsmVpSecureConfigVtl0 + 14
        ) {
          if (HvVsmVpSecureConfig.decode(value).TlbLocked === 1) return true;
        }
      }
    }
    return false;
  }

  /**
   * The host's TLB-flush inhibit for VP `vp`, like the proposed KVM_HYPERV_SET_TLB_FLUSH_INHIBIT
   * ioctl (spec 03 rule 10). Clearing it — when no TlbLocked bit holds the lock either — resumes
   * every VP suspended on `vp`; returns the VPs resumed.
   */
  setTlbFlushInhibit(vp: number, inhibit: boolean): number[] {
    if (typeof inhibit !== 'boolean') {
      throw new TypeError(`setTlbFlushInhibit(${vp}, ${String(inhibit)}): inhibit must be true or false`);
    }
    const s = this.vp(vp);
    const was = this.tlbLocked(vp);
    s.hostTlbInhibit = inhibit;
    return this.lockMayHaveChanged(vp, was);
  }

  /**
   * After anything that can change VP `vp`'s TLB lock: keeps it in the core, and on unlock
   * resumes the VPs waiting on `vp` (the unlock trigger pvlab chose for the UNVERIFIED rule 9:
   * clearing the last lock bit). Returns them.
   */
  lockMayHaveChanged(vp: number, wasLocked: boolean): number[] {
    const locked = this.refreshTlbLock(vp);
    if (locked === wasLocked) return [];
    const resumed = locked ? [] : this.partition.resumeWaiters(vp);
    this.emit({ kind: 'tlb-lock', vp, locked, resumed });
    return resumed;
  }

  /**
   * The host's read of register `name` in VTL `vtl` of VP `vp` (no AccessVsm gate: the host is
   * the parent). Throws a RangeError for an unmodelled register or VTL.
   */
  readRegister(vp: number, vtl: number, name: number): bigint {
    this.#checkVtl(vtl);
    const r = readVpRegister(this, this.vp(vp).index, vtl, name, 'host');
    if (r.status !== HvStatus.SUCCESS) throw new RangeError(this.#refusal('read', vtl, name, r.status));
    return r.value;
  }

  /**
   * The host's write (the parent's privileges: it may set suspend bits and TlbLocked). Throws a
   * RangeError for a read-only or unmodelled register, reserved bits, or a value above 64 bits.
   */
  writeRegister(vp: number, vtl: number, name: number, value: bigint): void {
    this.#checkVtl(vtl);
    const status = writeVpRegister(this, this.vp(vp).index, vtl, name, value, 'host');
    if (status !== HvStatus.SUCCESS) {
      throw new RangeError(`${this.#refusal('write', vtl, name, status)} (value 0x${value.toString(16)})`);
    }
  }

  #checkVtl(vtl: number): void {
    if (!Number.isInteger(vtl) || vtl < 0 || vtl > this.maximumVtl) {
      throw new RangeError(`VTL ${vtl} is not in this partition: use 0..${this.maximumVtl}`);
    }
  }

  #refusal(what: string, vtl: number, name: number, status: number): string {
    return `cannot ${what} ${hvRegisterName(name)} of VTL ${vtl}: ${hvStatusName(status)} — see MODELLED_REGISTERS for the registers, their access and reserved bits`;
  }

  /** Calls `listener` for every VTL event (enables, switches, TLB lock changes). */
  onEvent(listener: (event: VtlEvent) => void): void {
    this.#listeners.push(listener);
  }

  /** Tells the listeners. */
  emit(event: VtlEvent): void {
    for (const l of this.#listeners) l(event);
  }
}

/** The key of the vtl host state in a partition. */
export const VTL_STATE = new ExtensionKey<VtlHostState>(VTL_PACKAGE);

/** The vtl host state installed in `partition`, or an Error when the package is not installed. */
export function vtlHostState(partition: HvPartition): VtlHostState {
  const state = partition.extensionState(VTL_STATE);
  if (state === undefined) throw new Error(`the ${VTL_PACKAGE} package is not installed in this partition`);
  return state;
}
