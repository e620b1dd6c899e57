import { defineByteStruct } from '@pvlab/hypercall';
import { HvVpSetHeader } from './vp-set.js';

/**
 * HvCallSendSyntheticClusterIpi (0x000B) input (16 bytes): u32 Vector, u8 TargetVtl
 * (HV_INPUT_VTL), u8 flags (MBZ), u16 reserved, u64 ProcessorMask at 8.
 */
export const SendSyntheticClusterIpiInput = defineByteStruct('HV_INPUT_SEND_SYNTHETIC_CLUSTER_IPI', [
  { name: 'vector', offset: 0, type: 'u32' },
  { name: 'targetVtl', offset: 4, type: 'u8' },
  { name: 'flags', offset: 5, type: 'u8', kind: 'reserved-zero' },
  { name: 'reserved', offset: 6, type: 'u16', kind: 'reserved-zero' },
  { name: 'processorMask', offset: 8, type: 'u64' },
] as const);

/**
 * HvCallSendSyntheticClusterIpiEx (0x0015) input: u32 Vector, u8 TargetVtl, 3 bytes padding, then
 * the fixed part of an HV_VP_SET at 8 (24 bytes); the banks are the variable header (from 24).
 */
export const SendSyntheticClusterIpiExInput = defineByteStruct('HV_INPUT_SEND_SYNTHETIC_CLUSTER_IPI_EX', [
  { name: 'vector', offset: 0, type: 'u32' },
  { name: 'targetVtl', offset: 4, type: 'u8' },
  { name: 'reserved', offset: 5, type: { bytes: 3 }, kind: 'reserved-zero' },
  { name: 'vpSet', offset: 8, type: { struct: HvVpSetHeader } },
] as const);

/** Fixed-interrupt vectors a synthetic IPI may carry (TLFS: 0x10 ≤ vector ≤ 0xFF). */
export const HV_IPI_MIN_VECTOR = 0x10;
export const HV_IPI_MAX_VECTOR = 0xff;
