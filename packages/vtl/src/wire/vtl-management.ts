import { defineBitLayout, defineByteStruct } from '@pvlab/hypercall';

/** HV_ENABLE_PARTITION_VTL_FLAGS: bit 0 EnableMbec, bit 1 SupervisorShadowStack, bit 2 HardwareHvpt. */
export const HvEnablePartitionVtlFlags = defineBitLayout('HV_ENABLE_PARTITION_VTL_FLAGS', [
  { name: 'EnableMbec', lsb: 0, width: 1 },
  { name: 'EnableSupervisorShadowStack', lsb: 1, width: 1 },
  { name: 'EnableHardwareHvpt', lsb: 2, width: 1 },
  { name: 'RsvdZ', lsb: 3, width: 5, kind: 'reserved-zero' },
  { name: 'NotInByte', lsb: 8, width: 53, kind: 'reserved-zero' },
  { name: 'NotInByteHigh', lsb: 61, width: 3, kind: 'reserved-zero' },
] as const);

/**
 * HvCallEnablePartitionVtl (0x000D, simple, 16-byte input, no output) — spec 03: u64
 * PartitionId, u8 TargetVtl (HV_VTL), u8 Flags, 6 bytes RsvdZ.
 */
export const EnablePartitionVtlInput = defineByteStruct('HV_INPUT_ENABLE_PARTITION_VTL', [
  { name: 'partitionId', offset: 0, type: 'u64' },
  { name: 'targetVtl', offset: 8, type: 'u8' },
  { name: 'flags', offset: 9, type: 'u8', layout: HvEnablePartitionVtlFlags },
  { name: 'reserved', offset: 10, type: { bytes: 6 }, kind: 'reserved-zero' },
] as const);

/** A segment register (selector, attributes, limit, base) or a table register: 16 bytes each. */
const SEGMENT = { bytes: 16 } as const;

/** HV_INITIAL_VP_CONTEXT (x64, 224 bytes): the state a VP starts in on first entry to a VTL. */
export const InitialVpContextX64 = defineByteStruct('HV_INITIAL_VP_CONTEXT', [
  { name: 'rip', offset: 0, type: 'u64' },
  { name: 'rsp', offset: 8, type: 'u64' },
  { name: 'rflags', offset: 16, type: 'u64' },
  { name: 'cs', offset: 24, type: SEGMENT },
  { name: 'ds', offset: 40, type: SEGMENT },
  { name: 'es', offset: 56, type: SEGMENT },
  { name: 'fs', offset: 72, type: SEGMENT },
  { name: 'gs', offset: 88, type: SEGMENT },
  { name: 'ss', offset: 104, type: SEGMENT },
  { name: 'tr', offset: 120, type: SEGMENT },
  { name: 'ldtr', offset: 136, type: SEGMENT },
  { name: 'idtr', offset: 152, type: SEGMENT },
  { name: 'gdtr', offset: 168, type: SEGMENT },
  { name: 'efer', offset: 184, type: 'u64' },
  { name: 'cr0', offset: 192, type: 'u64' },
  { name: 'cr3', offset: 200, type: 'u64' },
  { name: 'cr4', offset: 208, type: 'u64' },
  { name: 'pat', offset: 216, type: 'u64' },
] as const);

/** HV_INITIAL_VP_CONTEXT on arm64 (72 bytes). pvlab's host models x64 only. */
export const INITIAL_VP_CONTEXT_ARM64_BYTES = 72;

/**
 * HvCallEnableVpVtl (0x000F, simple, 16 + 224 bytes of input on x64, no output) — spec 03: u64
 * PartitionId, u32 VpIndex (HV_VP_INDEX_SELF allowed), u8 TargetVtl, 3 bytes RsvdZ, then the
 * HV_INITIAL_VP_CONTEXT.
 */
export const EnableVpVtlInput = defineByteStruct('HV_INPUT_ENABLE_VP_VTL', [
  { name: 'partitionId', offset: 0, type: 'u64' },
  { name: 'vpIndex', offset: 8, type: 'u32' },
  { name: 'targetVtl', offset: 12, type: 'u8' },
  { name: 'reserved', offset: 13, type: { bytes: 3 }, kind: 'reserved-zero' },
  { name: 'context', offset: 16, type: { struct: InitialVpContextX64 } },
] as const);

/** HvCallVtlCall's RAX input (x64): every bit must be 0, else #UD (spec 03 rule 3). */
export const HvVtlCallInput = defineBitLayout('HV_VTL_CALL_INPUT', [
  { name: 'RsvdZ', lsb: 0, width: 53, kind: 'reserved-zero' },
  { name: 'RsvdZHigh', lsb: 53, width: 11, kind: 'reserved-zero' },
] as const);

/** HvCallVtlReturn's RAX input (x64): bit 0 FastReturn, every other bit 0, else #UD (rule 3). */
export const HvVtlReturnInput = defineBitLayout('HV_VTL_RETURN_INPUT', [
  { name: 'FastReturn', lsb: 0, width: 1 },
  { name: 'RsvdZ', lsb: 1, width: 53, kind: 'reserved-zero' },
  { name: 'RsvdZHigh', lsb: 54, width: 10, kind: 'reserved-zero' },
] as const);

/** HV_VP_VTL_CONTROL: offsets within the VP assist page (spec 03). pvlab does not write it yet. */
export const HvVpVtlControl = {
  /** The control area's offset in the VP assist page. */
  base: 8,
  /** u32 EntryReason (0 reserved, 1 VtlCall, 2 Interrupt, 3 Intercept). */
  entryReason: 8,
  /** u8: bit 0 VinaAsserted. */
  vinaStatus: 12,
  vtlReturnRax: 16,
  vtlReturnRcx: 24,
} as const;

/** HV_VTL_ENTRY_REASON values. */
export const HvVtlEntryReason = {
  RESERVED: 0,
  VTL_CALL: 1,
  INTERRUPT: 2,
  INTERCEPT: 3,
} as const;
