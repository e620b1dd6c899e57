import { HvCpuidLeaf, HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import type { HvPartition } from '@pvlab/hypercall/host';
import {
  HvInterceptSuspend,
  HvRegisterName,
  HvSuspendRegister,
  HvVsmCapabilities,
  HvVsmCodePageOffsets,
  HvVsmPartitionConfig,
  HvVsmPartitionStatus,
  HvVsmVina,
  HvVsmVpSecureConfig,
  HvVsmVpStatus,
  HvVsmVpWaitForTlbLock,
  hvRegisterName,
  secureConfigVtlOf,
} from '../wire/registers.js';
import type { VpVtlState } from './vp-vtl-state.js';

/**
 * Where pvlab puts VtlCall and VtlReturn in the hypercall page (HvRegisterVsmCodePageOffsets):
 * any fixed values will do (spec 03); these sit clear of the core's 4-byte VMCALL; RET stub.
 */
export const VTL_CALL_PAGE_OFFSET = 0x10;
export const VTL_RETURN_PAGE_OFFSET = 0x20;

/** How a modelled register is kept. */
export type RegisterKind =
  /** A value per VP per VTL, read and written as is. */
  | 'vp-vtl'
  /** One value per VTL for the whole partition. */
  | 'partition-vtl'
  /** Derived from partition or VP state: read-only. */
  | 'derived';

/** A register the vtl host models. */
export interface ModelledRegister {
  readonly name: number;
  /** Spec name, e.g. `HvRegisterVsmVpStatus`. */
  readonly spec: string;
  readonly readOnly: boolean;
  readonly kind: RegisterKind;
  /** A VSM register (0x000Dxxxx): reading or writing it also needs AccessVsm. */
  readonly vsm: boolean;
  /** The RsvdZ bits a write must leave clear (0n when any 64-bit value is accepted). */
  readonly reservedZeroMask: bigint;
}

const U64 = 1n << 64n;

function reg(name: number, kind: RegisterKind, readOnly: boolean, reservedZeroMask = 0n): ModelledRegister {
  return { name, spec: hvRegisterName(name), readOnly, kind, vsm: name >>> 16 === 0x000d, reservedZeroMask };
}

const N = HvRegisterName;

/** Every register pvlab models, in name order (the 15 VsmVpSecureConfigVtlN included). */
export const MODELLED_REGISTERS: readonly ModelledRegister[] = [
  reg(N.ExplicitSuspend, 'vp-vtl', false, HvSuspendRegister.reservedZeroMask),
  reg(N.InterceptSuspend, 'vp-vtl', false, HvInterceptSuspend.reservedZeroMask),
  reg(N.InstructionEmulationHints, 'vp-vtl', false),
  reg(N.DispatchSuspend, 'vp-vtl', false, HvSuspendRegister.reservedZeroMask),
  reg(N.InternalActivityState, 'vp-vtl', false),
  reg(N.HypervisorVersion, 'derived', true),
  reg(N.GuestOsId, 'vp-vtl', false),
  reg(N.VpIndex, 'derived', true),
  reg(N.VpAssistPage, 'vp-vtl', false),
  reg(N.VsmCodePageOffsets, 'derived', true),
  reg(N.VsmVpStatus, 'derived', true),
  reg(N.VsmPartitionStatus, 'derived', true),
  reg(N.VsmVina, 'vp-vtl', false, HvVsmVina.reservedZeroMask),
  reg(N.VsmCapabilities, 'derived', true),
  reg(N.VsmPartitionConfig, 'partition-vtl', false, HvVsmPartitionConfig.reservedZeroMask),
  ...Array.from({ length: 15 }, (_, n) =>
    reg(N.VsmVpSecureConfigVtl0 + n, 'vp-vtl', false, HvVsmVpSecureConfig.reservedZeroMask),
  ),
  reg(N.VsmVpWaitForTlbLock, 'vp-vtl', false, HvVsmVpWaitForTlbLock.reservedZeroMask),
];

const byName = new Map(MODELLED_REGISTERS.map((r) => [r.name, r]));

/** The modelled register `name`, or `undefined` (→ the unknown-register status). */
export function modelledRegister(name: number): ModelledRegister | undefined {
  return byName.get(name);
}

/** A read's outcome: a status, and the value on SUCCESS. */
export interface RegisterRead {
  readonly status: HvStatusCode;
  readonly value: bigint;
}

/** Who accesses: a guest VP running at `callerVtl` (Get/SetVpRegisters), or the host (parent). */
export type RegisterAccessor = { readonly callerVtl: number } | 'host';

/**
 * What the register file reads and writes of the VTL host state (`VtlHostState` is one): declared
 * here so that the file does not import the state that uses it.
 */
export interface VtlRegisterContext {
  readonly partition: HvPartition;
  readonly unknownRegister: 'UNKNOWN_REGISTER_NAME' | 'INVALID_PARAMETER';
  readonly maximumVtl: number;
  readonly partitionEnabledVtls: number;
  readonly mbecEnabledVtls: number;
  readonly sssEnabledVtls: number;
  readonly partitionConfig: bigint[];
  vp(vp: number): VpVtlState;
  tlbLocked(vp: number): boolean;
  lockMayHaveChanged(vp: number, wasLocked: boolean): number[];
}

function unknownStatus(state: VtlRegisterContext): HvStatusCode {
  return HvStatus[state.unknownRegister];
}

/**
 * Common checks of a read or write of `name` in VTL `vtl` of VP `vp`: modelled, AccessVsm for a
 * VSM register (guest only), and a VsmVpSecureConfigVtlN only for N below the VTL it lives in.
 */
function lookup(
  state: VtlRegisterContext,
  vtl: number,
  name: number,
  who: RegisterAccessor,
): ModelledRegister | HvStatusCode {
  const r = byName.get(name);
  if (r === undefined) return unknownStatus(state);
  if (who !== 'host' && r.vsm && !state.partition.features.has('AccessVsm')) return HvStatus.ACCESS_DENIED;
  const n = secureConfigVtlOf(name);
  if (n !== undefined && n >= vtl) return HvStatus.INVALID_PARAMETER;
  return r;
}

/** Reads register `name` of VTL `vtl` on VP `vp`. Never throws for guest input. */
export function readVpRegister(
  state: VtlRegisterContext,
  vp: number,
  vtl: number,
  name: number,
  who: RegisterAccessor,
): RegisterRead {
  const r = lookup(state, vtl, name, who);
  if (typeof r === 'number') return { status: r, value: 0n };
  return { status: HvStatus.SUCCESS, value: currentValue(state, vp, vtl, r) };
}

function currentValue(state: VtlRegisterContext, vp: number, vtl: number, r: ModelledRegister): bigint {
  const s = state.vp(vp);
  switch (r.name) {
    case N.VpIndex:
      return BigInt(vp);
    case N.HypervisorVersion: {
      const c = state.partition.cpuid(HvCpuidLeaf.VERSION);
      return (
        BigInt(c.eax >>> 0) |
        (BigInt(c.ebx >>> 0) << 32n) |
        (BigInt(c.ecx >>> 0) << 64n) |
        (BigInt(c.edx >>> 0) << 96n)
      );
    }
    case N.GuestOsId:
      // VTL0's guest OS id is the partition's HV_X64_MSR_GUEST_OS_ID.
      return vtl === 0 ? state.partition.guestOsId : s.registers(vtl).get(r.name);
    case N.VsmCodePageOffsets:
      return HvVsmCodePageOffsets.encode({
        VtlCallOffset: VTL_CALL_PAGE_OFFSET,
        VtlReturnOffset: VTL_RETURN_PAGE_OFFSET,
      });
    case N.VsmVpStatus:
      return HvVsmVpStatus.encode({ ActiveVtl: s.activeVtl, EnabledVtlSet: s.enabledVtls });
    case N.VsmPartitionStatus:
      return HvVsmPartitionStatus.encode({
        EnabledVtlSet: state.partitionEnabledVtls,
        MaximumVtl: state.maximumVtl,
        MbecEnabledVtlSet: state.mbecEnabledVtls,
        SssEnabledVtlSet: state.sssEnabledVtls,
      });
    case N.VsmCapabilities:
      // Every VTL above 0 may enable MBEC (EnablePartitionVtl's EnableMbec is accepted for them).
      return HvVsmCapabilities.encode({ MbecVtlMask: ((1 << (state.maximumVtl + 1)) - 1) & ~1 });
    case N.VsmPartitionConfig:
      return state.partitionConfig[vtl] ?? 0n;
    default:
      return s.registers(vtl).get(r.name);
  }
}

/**
 * Writes register `name` of VTL `vtl` on VP `vp`. For a guest: read-only registers and the
 * bits it may not change (rule 11: suspend bits can only be cleared; TlbLocked only from a
 * higher VTL) → ACCESS_DENIED; RsvdZ bits or a value above 64 bits → INVALID_PARAMETER. No
 * side effects beyond the register (spec 03 rule 1), except that clearing the last TLB lock
 * resumes the VPs suspended on `vp`.
 */
export function writeVpRegister(
  state: VtlRegisterContext,
  vp: number,
  vtl: number,
  name: number,
  value: bigint,
  who: RegisterAccessor,
): HvStatusCode {
  const r = lookup(state, vtl, name, who);
  if (typeof r === 'number') return r;
  if (r.readOnly) return HvStatus.ACCESS_DENIED;
  if (value < 0n || value >= U64 || (value & r.reservedZeroMask) !== 0n) return HvStatus.INVALID_PARAMETER;
  const s = state.vp(vp);
  const regs = s.registers(vtl);
  const old = currentValue(state, vp, vtl, r);
  if (who !== 'host') {
    const denied = guestMayNotWrite(r.name, old, value, who.callerVtl, vtl);
    if (denied) return HvStatus.ACCESS_DENIED;
  }
  const wasLocked = state.tlbLocked(vp);
  if (r.kind === 'partition-vtl') state.partitionConfig[vtl] = value;
  else if (r.name === N.GuestOsId && vtl === 0) state.partition.guestOsId = value;
  else regs.set(r.name, value);
  if (r.name === N.InterceptSuspend || secureConfigVtlOf(r.name) !== undefined) {
    state.lockMayHaveChanged(vp, wasLocked);
  }
  return HvStatus.SUCCESS;
}

/** Rule 11 and the TLB lock: what a guest write may not change. */
function guestMayNotWrite(name: number, old: bigint, next: bigint, callerVtl: number, vtl: number): boolean {
  if (name === N.ExplicitSuspend || name === N.DispatchSuspend || name === N.InterceptSuspend) {
    const setsSuspended = (next & 1n) === 1n && (old & 1n) === 0n;
    if (setsSuspended) return true;
  }
  if (name === N.InterceptSuspend && callerVtl <= vtl) {
    const tlb = HvInterceptSuspend.field('TlbLocked').mask;
    if ((old & tlb) !== (next & tlb)) return true;
  }
  return false;
}
