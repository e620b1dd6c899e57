import { HV_VP_SET_HEADER_BYTES } from './vp-set.js';

/** The synthetic cluster IPI call codes. */
export const IpiCallCode = {
  HvCallSendSyntheticClusterIpi: 0x000b,
  HvCallSendSyntheticClusterIpiEx: 0x0015,
} as const;

/**
 * Input of HvCallSendSyntheticClusterIpi (0x000B, 16 bytes): u32 Vector, u8 TargetVtl, u8 flags
 * (MBZ), u16 reserved, u64 ProcessorMask at 8.
 */
export const IpiInput = {
  vector: 0,
  targetVtl: 4,
  flags: 5,
  reserved: 6,
  processorMask: 8,
  bytes: 16,
} as const;

/**
 * Input of HvCallSendSyntheticClusterIpiEx (0x0015): u32 Vector, u8 TargetVtl, 3 bytes padding,
 * then an HV_VP_SET at 8 (banks from 24 = the variable header).
 */
export const IpiExInput = {
  vector: 0,
  targetVtl: 4,
  vpSet: 8,
  fixedBytes: 8 + HV_VP_SET_HEADER_BYTES,
} as const;

/** Fixed-interrupt vectors a synthetic IPI may carry (TLFS: 0x10 ≤ vector ≤ 0xFF). */
export const HV_IPI_MIN_VECTOR = 0x10;
export const HV_IPI_MAX_VECTOR = 0xff;
