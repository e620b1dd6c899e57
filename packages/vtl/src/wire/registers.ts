import { defineBitLayout } from '@pvlab/hypercall';

/**
 * HV_REGISTER_NAME values of spec 03 "Register names". An open enum: any u32 is a register name;
 * `hvRegisterName` names the known ones and never throws.
 */
export const HvRegisterName = {
  ExplicitSuspend: 0x0000_0000,
  InterceptSuspend: 0x0000_0001,
  InstructionEmulationHints: 0x0000_0002,
  DispatchSuspend: 0x0000_0003,
  InternalActivityState: 0x0000_0004,
  HypervisorVersion: 0x0000_0100,
  GuestOsId: 0x0009_0002,
  VpIndex: 0x0009_0003,
  VpAssistPage: 0x0009_0013,
  VsmCodePageOffsets: 0x000d_0002,
  VsmVpStatus: 0x000d_0003,
  VsmPartitionStatus: 0x000d_0004,
  VsmVina: 0x000d_0005,
  VsmCapabilities: 0x000d_0006,
  VsmPartitionConfig: 0x000d_0007,
  /** HvRegisterVsmVpSecureConfigVtl0; VTL n is this + n (n = 0..14). */
  VsmVpSecureConfigVtl0: 0x000d_0010,
  VsmVpWaitForTlbLock: 0x000d_0020,
} as const;

/** The spec name of a known register (without the `HvRegister` prefix). */
export type HvRegisterNameKey = keyof typeof HvRegisterName;

/** HvRegisterVsmVpSecureConfigVtlN for `vtl` = N (0..14). */
export function vsmVpSecureConfigName(vtl: number): number {
  if (!Number.isInteger(vtl) || vtl < 0 || vtl > 14) {
    throw new RangeError(`HvRegisterVsmVpSecureConfigVtl${vtl} does not exist: use VTL 0..14`);
  }
  return HvRegisterName.VsmVpSecureConfigVtl0 + vtl;
}

/** The N of HvRegisterVsmVpSecureConfigVtlN, or `undefined` for any other name. */
export function secureConfigVtlOf(name: number): number | undefined {
  const n = name - HvRegisterName.VsmVpSecureConfigVtl0;
  return n >= 0 && n <= 14 ? n : undefined;
}

const names = new Map<number, string>(Object.entries(HvRegisterName).map(([k, v]) => [v, `HvRegister${k}`]));

/** `HvRegisterVsmVpStatus`, `HvRegisterVsmVpSecureConfigVtl3`, or `unknown register 0x00123456`. */
export function hvRegisterName(name: number): string {
  const known = names.get(name);
  if (known) return known;
  const n = secureConfigVtlOf(name);
  if (n !== undefined) return `HvRegisterVsmVpSecureConfigVtl${n}`;
  return `unknown register 0x${(name >>> 0).toString(16).padStart(8, '0')}`;
}

/** HvRegisterExplicitSuspend / HvRegisterDispatchSuspend: bit 0 Suspended. */
export const HvSuspendRegister = defineBitLayout('HV_REGISTER_SUSPEND', [
  { name: 'Suspended', lsb: 0, width: 1 },
  { name: 'RsvdZ', lsb: 1, width: 53, kind: 'reserved-zero' },
  { name: 'RsvdZHigh', lsb: 54, width: 10, kind: 'reserved-zero' },
] as const);

/** HvRegisterInterceptSuspend: bit 0 Suspended, bit 1 TlbLocked (TLB-flush inhibit). */
export const HvInterceptSuspend = defineBitLayout('HV_REGISTER_INTERCEPT_SUSPEND', [
  { name: 'Suspended', lsb: 0, width: 1 },
  { name: 'TlbLocked', lsb: 1, width: 1 },
  { name: 'RsvdZ', lsb: 2, width: 53, kind: 'reserved-zero' },
  { name: 'RsvdZHigh', lsb: 55, width: 9, kind: 'reserved-zero' },
] as const);

/** HvRegisterVsmCodePageOffsets: 11:0 VtlCall offset, 23:12 VtlReturn offset (in the hypercall page). */
export const HvVsmCodePageOffsets = defineBitLayout('HV_REGISTER_VSM_CODE_PAGE_OFFSETS', [
  { name: 'VtlCallOffset', lsb: 0, width: 12 },
  { name: 'VtlReturnOffset', lsb: 12, width: 12 },
  { name: 'Reserved', lsb: 24, width: 40, kind: 'reserved-ignore' },
] as const);

/** HvRegisterVsmVpStatus: 3:0 ActiveVtl · 4 ActiveMbecEnabled · 15:5 MBZ · 31:16 EnabledVtlSet · 63:32 MBZ. */
export const HvVsmVpStatus = defineBitLayout('HV_REGISTER_VSM_VP_STATUS', [
  { name: 'ActiveVtl', lsb: 0, width: 4 },
  { name: 'ActiveMbecEnabled', lsb: 4, width: 1 },
  { name: 'Mbz', lsb: 5, width: 11, kind: 'reserved-zero' },
  { name: 'EnabledVtlSet', lsb: 16, width: 16 },
  { name: 'MbzHigh', lsb: 32, width: 32, kind: 'reserved-zero' },
] as const);

/** HvRegisterVsmPartitionStatus: 15:0 EnabledVtlSet · 19:16 MaximumVtl · 35:20 MbecEnabledVtlSet · 39:36 SssEnabledVtlSet. */
export const HvVsmPartitionStatus = defineBitLayout('HV_REGISTER_VSM_PARTITION_STATUS', [
  { name: 'EnabledVtlSet', lsb: 0, width: 16 },
  { name: 'MaximumVtl', lsb: 16, width: 4 },
  { name: 'MbecEnabledVtlSet', lsb: 20, width: 16 },
  { name: 'SssEnabledVtlSet', lsb: 36, width: 4 },
  { name: 'Reserved', lsb: 40, width: 24, kind: 'reserved-ignore' },
] as const);

/** HvRegisterVsmVina: 7:0 Vector · 8 Enabled · 9 AutoReset · 10 AutoEoi. */
export const HvVsmVina = defineBitLayout('HV_REGISTER_VSM_VINA', [
  { name: 'Vector', lsb: 0, width: 8 },
  { name: 'Enabled', lsb: 8, width: 1 },
  { name: 'AutoReset', lsb: 9, width: 1 },
  { name: 'AutoEoi', lsb: 10, width: 1 },
  { name: 'RsvdZ', lsb: 11, width: 53, kind: 'reserved-zero' },
] as const);

/** HvRegisterVsmCapabilities: bit 0 Dr6Shared · 16:1 MbecVtlMask (the spec elides the rest). */
export const HvVsmCapabilities = defineBitLayout('HV_REGISTER_VSM_CAPABILITIES', [
  { name: 'Dr6Shared', lsb: 0, width: 1 },
  { name: 'MbecVtlMask', lsb: 1, width: 16 },
  { name: 'Reserved', lsb: 17, width: 47, kind: 'reserved-ignore' },
] as const);

/**
 * HvRegisterVsmPartitionConfig: bit 0 EnableVtlProtection · 4:1 DefaultVtlProtectionMask (spec
 * 03); bits 5–12 as the TLFS/openvmm hvdef name them (the spec table elides them with "…").
 */
export const HvVsmPartitionConfig = defineBitLayout('HV_REGISTER_VSM_PARTITION_CONFIG', [
  { name: 'EnableVtlProtection', lsb: 0, width: 1 },
  { name: 'DefaultVtlProtectionMask', lsb: 1, width: 4 },
  { name: 'ZeroMemoryOnReset', lsb: 5, width: 1 },
  { name: 'DenyLowerVtlStartup', lsb: 6, width: 1 },
  { name: 'InterceptAcceptance', lsb: 7, width: 1 },
  { name: 'InterceptEnableVtlProtection', lsb: 8, width: 1 },
  { name: 'InterceptVpStartup', lsb: 9, width: 1 },
  { name: 'InterceptCpuidUnimplemented', lsb: 10, width: 1 },
  { name: 'InterceptUnrecoverableException', lsb: 11, width: 1 },
  { name: 'InterceptPage', lsb: 12, width: 1 },
  { name: 'RsvdZ', lsb: 13, width: 51, kind: 'reserved-zero' },
] as const);

/** HvRegisterVsmVpSecureConfigVtlN: bit 0 MbecEnabled · bit 1 TlbLocked. */
export const HvVsmVpSecureConfig = defineBitLayout('HV_REGISTER_VSM_VP_SECURE_CONFIG', [
  { name: 'MbecEnabled', lsb: 0, width: 1 },
  { name: 'TlbLocked', lsb: 1, width: 1 },
  { name: 'RsvdZ', lsb: 2, width: 53, kind: 'reserved-zero' },
  { name: 'RsvdZHigh', lsb: 55, width: 9, kind: 'reserved-zero' },
] as const);

/** HvRegisterVsmVpWaitForTlbLock: bit 0 Wait. */
export const HvVsmVpWaitForTlbLock = defineBitLayout('HV_REGISTER_VSM_VP_WAIT_FOR_TLB_LOCK', [
  { name: 'Wait', lsb: 0, width: 1 },
  { name: 'RsvdZ', lsb: 1, width: 53, kind: 'reserved-zero' },
  { name: 'RsvdZHigh', lsb: 54, width: 10, kind: 'reserved-zero' },
] as const);
