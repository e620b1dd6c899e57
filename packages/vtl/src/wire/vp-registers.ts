import { defineByteStruct, HV_PARAMETER_ALIGNMENT } from '@pvlab/hypercall';
import { HvInputVtl } from './input-vtl.js';

/**
 * HvCallGetVpRegisters (0x0050) input header — spec 03 (16 bytes): u64 PartitionId, u32 VpIndex
 * (HV_VP_INDEX_SELF allowed), u8 HV_INPUT_VTL, 3 bytes RsvdZ. The register names follow it as rep
 * elements.
 */
export const GetVpRegistersInput = defineByteStruct('HV_INPUT_GET_VP_REGISTERS', [
  { name: 'partitionId', offset: 0, type: 'u64' },
  { name: 'vpIndex', offset: 8, type: 'u32' },
  { name: 'inputVtl', offset: 12, type: 'u8', layout: HvInputVtl },
  { name: 'reserved', offset: 13, type: { bytes: 3 }, kind: 'reserved-zero' },
] as const);

/** HvCallSetVpRegisters (0x0051) input header: the same 16 bytes as Get's. */
export const SetVpRegistersInput = GetVpRegistersInput;

/** Get: one rep input element, a u32 register name, packed after the header (the list is padded to 8). */
export const GetVpRegistersInputElement = defineByteStruct('HV_REGISTER_NAME', [
  { name: 'name', offset: 0, type: 'u32' },
] as const);

/** HV_REGISTER_VALUE: 128 bits, low quadword first; narrower values are zero-extended. */
export const HvRegisterValue = defineByteStruct('HV_REGISTER_VALUE', [
  { name: 'low64', offset: 0, type: 'u64' },
  { name: 'high64', offset: 8, type: 'u64' },
] as const);

/** Get: one rep output element, the register's HV_REGISTER_VALUE. */
export const GetVpRegistersOutputElement = HvRegisterValue;

/** Set: one rep input element (32 B, HV_REGISTER_ASSOC): u32 Name, 12 B RsvdZ, 16 B value. No output. */
export const SetVpRegistersInputElement = defineByteStruct('HV_REGISTER_ASSOC', [
  { name: 'name', offset: 0, type: 'u32' },
  { name: 'reserved', offset: 4, type: { bytes: 12 }, kind: 'reserved-zero' },
  { name: 'value', offset: 16, type: { struct: HvRegisterValue } },
] as const);

/** The header fields, decoded. */
export interface VpRegistersHeaderFields {
  readonly partitionId: bigint;
  readonly vpIndex: number;
  readonly inputVtl: number;
  /** The 3 RsvdZ bytes as one number (0 when well-formed). */
  readonly reserved: number;
}

const { partitionId, vpIndex, inputVtl, reserved } = GetVpRegistersInput.accessors;
const { low64, high64 } = HvRegisterValue.accessors;

/** Reads the header at `offset`. Never throws for a view that holds 16 bytes there. */
export function readVpRegistersHeader(view: DataView, offset = 0): VpRegistersHeaderFields {
  return {
    partitionId: partitionId.get(view, offset),
    vpIndex: vpIndex.get(view, offset),
    inputVtl: inputVtl.get(view, offset),
    reserved: reserved.get(view, offset).reduceRight((n, b) => (n << 8) | b, 0),
  };
}

/** Writes the header at `offset` (RsvdZ bytes zeroed). */
export function writeVpRegistersHeader(
  view: DataView,
  offset: number,
  h: { partitionId: bigint; vpIndex: number; inputVtl: number },
): void {
  GetVpRegistersInput.write(view, offset, {
    partitionId: h.partitionId,
    vpIndex: h.vpIndex >>> 0,
    inputVtl: h.inputVtl & 0xff,
    reserved: new Uint8Array(0),
  });
}

/** Bytes of a Get input list for `count` names: header + 4·count, padded to 8 (spec 03). */
export function getVpRegistersInputBytes(count: number): number {
  const raw = GetVpRegistersInput.size + GetVpRegistersInputElement.size * count;
  return Math.ceil(raw / HV_PARAMETER_ALIGNMENT) * HV_PARAMETER_ALIGNMENT;
}

/** Bytes of a Set input list for `count` registers. */
export function setVpRegistersInputBytes(count: number): number {
  return SetVpRegistersInput.size + SetVpRegistersInputElement.size * count;
}

/** The largest 128-bit register value plus one. */
const U128 = 1n << 128n;

/** Reads a 16-byte HV_REGISTER_VALUE (little-endian, low quadword first) as one bigint. */
export function readRegisterValue(view: DataView, offset: number): bigint {
  return low64.get(view, offset) | (high64.get(view, offset) << 64n);
}

/** Writes `value` (0 ≤ value < 2^128) as a 16-byte HV_REGISTER_VALUE; RangeError otherwise. */
export function writeRegisterValue(view: DataView, offset: number, value: bigint): void {
  if (value < 0n || value >= U128) {
    throw new RangeError(`register value 0x${value.toString(16)} does not fit in 128 bits`);
  }
  low64.set(view, value & 0xffff_ffff_ffff_ffffn, offset);
  high64.set(view, value >> 64n, offset);
}
