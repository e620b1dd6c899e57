import { HV_PARAMETER_ALIGNMENT } from '@pvlab/hypercall';

/**
 * HvCallGetVpRegisters (0x0050) / HvCallSetVpRegisters (0x0051) — spec 03. Both are rep calls
 * with the same 16-byte header.
 */
export const VpRegistersHeader = {
  /** u64 PartitionId. */
  partitionId: 0,
  /** u32 VpIndex (HV_VP_INDEX_SELF allowed). */
  vpIndex: 8,
  /** u8 HV_INPUT_VTL. */
  inputVtl: 12,
  /** 3 bytes RsvdZ. */
  reserved: 13,
  bytes: 16,
} as const;

/** Get: one rep input element is a u32 register name, packed after the header. */
export const GET_VP_REGISTERS_ELEMENT_BYTES = 4;
/** Get: one rep output element is a 16-byte HV_REGISTER_VALUE (narrower values zero-extended). */
export const HV_REGISTER_VALUE_BYTES = 16;

/** Set: one rep input element (32 B): u32 Name, 12 B RsvdZ, 16 B value. No output. */
export const SetVpRegistersElement = {
  name: 0,
  reserved: 4,
  reservedBytes: 12,
  value: 16,
  bytes: 32,
} as const;

/** The header fields, decoded. */
export interface VpRegistersHeaderFields {
  readonly partitionId: bigint;
  readonly vpIndex: number;
  readonly inputVtl: number;
  /** The 3 RsvdZ bytes as one number (0 when well-formed). */
  readonly reserved: number;
}

/** Reads the header at `offset`. Never throws for a view that holds 16 bytes there. */
export function readVpRegistersHeader(view: DataView, offset = 0): VpRegistersHeaderFields {
  return {
    partitionId: view.getBigUint64(offset + VpRegistersHeader.partitionId, true),
    vpIndex: view.getUint32(offset + VpRegistersHeader.vpIndex, true),
    inputVtl: view.getUint8(offset + VpRegistersHeader.inputVtl),
    reserved:
      view.getUint8(offset + 13) | (view.getUint8(offset + 14) << 8) | (view.getUint8(offset + 15) << 16),
  };
}

/** Writes the header at `offset` (RsvdZ bytes zeroed). */
export function writeVpRegistersHeader(
  view: DataView,
  offset: number,
  h: { partitionId: bigint; vpIndex: number; inputVtl: number },
): void {
  view.setBigUint64(offset + VpRegistersHeader.partitionId, BigInt.asUintN(64, h.partitionId), true);
  view.setUint32(offset + VpRegistersHeader.vpIndex, h.vpIndex >>> 0, true);
  view.setUint8(offset + VpRegistersHeader.inputVtl, h.inputVtl & 0xff);
  for (let i = 13; i < 16; i++) view.setUint8(offset + i, 0);
}

/** Bytes of a Get input list for `count` names: header + 4·count, padded to 8 (spec 03). */
export function getVpRegistersInputBytes(count: number): number {
  const raw = VpRegistersHeader.bytes + GET_VP_REGISTERS_ELEMENT_BYTES * count;
  return Math.ceil(raw / HV_PARAMETER_ALIGNMENT) * HV_PARAMETER_ALIGNMENT;
}

/** Bytes of a Set input list for `count` registers. */
export function setVpRegistersInputBytes(count: number): number {
  return VpRegistersHeader.bytes + SetVpRegistersElement.bytes * count;
}

/** The largest 128-bit register value plus one. */
const U128 = 1n << 128n;

/** Reads a 16-byte HV_REGISTER_VALUE (little-endian, low quadword first) as one bigint. */
export function readRegisterValue(view: DataView, offset: number): bigint {
  return view.getBigUint64(offset, true) | (view.getBigUint64(offset + 8, true) << 64n);
}

/** Writes `value` (0 ≤ value < 2^128) as a 16-byte HV_REGISTER_VALUE; RangeError otherwise. */
export function writeRegisterValue(view: DataView, offset: number, value: bigint): void {
  if (value < 0n || value >= U128) {
    throw new RangeError(`register value 0x${value.toString(16)} does not fit in 128 bits`);
  }
  view.setBigUint64(offset, value & 0xffff_ffff_ffff_ffffn, true);
  view.setBigUint64(offset + 8, value >> 64n, true);
}
