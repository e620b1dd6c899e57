import { defineBitLayout } from '@pvlab/hypercall';

/** HvCallEnablePartitionVtl (0x000D, simple, 16-byte input, no output) — spec 03. */
export const EnablePartitionVtlInput = {
  partitionId: 0,
  /** u8 HV_VTL. */
  targetVtl: 8,
  /** u8 HV_ENABLE_PARTITION_VTL_FLAGS. */
  flags: 9,
  /** 6 bytes RsvdZ. */
  reserved: 10,
  bytes: 16,
} as const;

/** HV_ENABLE_PARTITION_VTL_FLAGS: bit 0 EnableMbec, bit 1 SupervisorShadowStack, bit 2 HardwareHvpt. */
export const HvEnablePartitionVtlFlags = defineBitLayout('HV_ENABLE_PARTITION_VTL_FLAGS', [
  { name: 'EnableMbec', lsb: 0, width: 1 },
  { name: 'EnableSupervisorShadowStack', lsb: 1, width: 1 },
  { name: 'EnableHardwareHvpt', lsb: 2, width: 1 },
  { name: 'RsvdZ', lsb: 3, width: 5, kind: 'reserved-zero' },
  { name: 'NotInByte', lsb: 8, width: 53, kind: 'reserved-zero' },
  { name: 'NotInByteHigh', lsb: 61, width: 3, kind: 'reserved-zero' },
] as const);

/** HV_INITIAL_VP_CONTEXT (x64, 224 bytes): the state a VP starts in on first entry to a VTL. */
export const InitialVpContextX64 = {
  rip: 0,
  rsp: 8,
  rflags: 16,
  /** Segment registers, 16 bytes each: CS, DS, ES, FS, GS, SS, TR, LDTR. */
  cs: 24,
  ds: 40,
  es: 56,
  fs: 72,
  gs: 88,
  ss: 104,
  tr: 120,
  ldtr: 136,
  /** Table registers, 16 bytes each. */
  idtr: 152,
  gdtr: 168,
  efer: 184,
  cr0: 192,
  cr3: 200,
  cr4: 208,
  pat: 216,
  bytes: 224,
} as const;

/** HV_INITIAL_VP_CONTEXT on arm64 (72 bytes). pvlab's host models x64 only. */
export const INITIAL_VP_CONTEXT_ARM64_BYTES = 72;

/** HvCallEnableVpVtl (0x000F, simple, 16 + 224 bytes of input on x64, no output) — spec 03. */
export const EnableVpVtlInput = {
  partitionId: 0,
  /** u32 VpIndex (HV_VP_INDEX_SELF allowed). */
  vpIndex: 8,
  /** u8 HV_VTL. */
  targetVtl: 12,
  /** 3 bytes RsvdZ. */
  reserved: 13,
  /** HV_INITIAL_VP_CONTEXT. */
  context: 16,
  bytes: 16 + InitialVpContextX64.bytes,
} as const;

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
