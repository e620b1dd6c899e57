/**
 * Hypercall call codes — spec 01 "Call codes used in this spec set". An open enum: any 16-bit
 * value is a call code; `hvCallName` names the known ones and never throws.
 */
export const HvCallCode = {
  HvCallFlushVirtualAddressSpace: 0x0002,
  HvCallFlushVirtualAddressList: 0x0003,
  HvCallNotifyLongSpinWait: 0x0008,
  HvCallSendSyntheticClusterIpi: 0x000b,
  HvCallModifyVtlProtectionMask: 0x000c,
  HvCallEnablePartitionVtl: 0x000d,
  HvCallEnableVpVtl: 0x000f,
  HvCallVtlCall: 0x0011,
  HvCallVtlReturn: 0x0012,
  HvCallFlushVirtualAddressSpaceEx: 0x0013,
  HvCallFlushVirtualAddressListEx: 0x0014,
  HvCallSendSyntheticClusterIpiEx: 0x0015,
  HvCallGetPartitionId: 0x0046,
  HvCallGetVpRegisters: 0x0050,
  HvCallSetVpRegisters: 0x0051,
  HvCallTranslateVirtualAddress: 0x0052,
  HvCallPostMessage: 0x005c,
  HvCallSignalEvent: 0x005d,
  HvCallStartVirtualProcessor: 0x0099,
  HvCallGetVpIndexFromApicId: 0x009a,
  HvCallTranslateVirtualAddressEx: 0x00ac,
  HvCallModifySparseGpaPageHostVisibility: 0x00db,
  HvCallQuerySparseGpaPageHostVisibility: 0x011c,
  HvExtCallQueryCapabilities: 0x8001,
} as const;

/** The spec name of a known call code. */
export type HvCallName = keyof typeof HvCallCode;

const names = new Map<number, string>(Object.entries(HvCallCode).map(([k, v]) => [v, k]));

/** The spec name of a call code, or `unknown call 0x1234`. */
export function hvCallName(code: number): string {
  return names.get(code) ?? `unknown call 0x${code.toString(16).padStart(4, '0')}`;
}
