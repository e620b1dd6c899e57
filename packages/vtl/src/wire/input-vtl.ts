import { defineBitLayout } from '@pvlab/hypercall';

/**
 * HV_INPUT_VTL (u8) — spec 03 "Common encodings": bits 3:0 TargetVtl, bit 4 UseTargetVtl,
 * bits 7:5 RsvdZ. 0x00 = the caller's current VTL; 0x10 = VTL0; 0x11 = VTL1; 0x12 = VTL2.
 * Declared as 64 bits like every layout; bits 63:8 are never set in a byte.
 */
export const HvInputVtl = defineBitLayout('HV_INPUT_VTL', [
  { name: 'TargetVtl', lsb: 0, width: 4 },
  { name: 'UseTargetVtl', lsb: 4, width: 1 },
  { name: 'RsvdZ', lsb: 5, width: 3, kind: 'reserved-zero' },
  { name: 'NotInByte', lsb: 8, width: 53, kind: 'reserved-zero' },
  { name: 'NotInByteHigh', lsb: 61, width: 3, kind: 'reserved-zero' },
] as const);

/** The HV_INPUT_VTL byte that names `vtl` explicitly (UseTargetVtl = 1). */
export function inputVtl(vtl: number): number {
  return Number(HvInputVtl.encode({ TargetVtl: vtl, UseTargetVtl: 1 }));
}

/** HV_INPUT_VTL 0x00: "the caller's current VTL". */
export const HV_INPUT_VTL_CURRENT = 0;

/**
 * The VTL an HV_INPUT_VTL byte selects for a caller running at `currentVtl`, or `undefined` when
 * the byte is malformed: reserved bits set, or TargetVtl above `maximumVtl` (spec 03 rule 2).
 */
export function selectInputVtl(byte: number, currentVtl: number, maximumVtl: number): number | undefined {
  const value = BigInt(byte);
  if (HvInputVtl.reservedZeroBits(value) !== 0n) return undefined;
  const f = HvInputVtl.decode(value);
  if (f.UseTargetVtl === 0) return currentVtl;
  return f.TargetVtl <= maximumVtl ? f.TargetVtl : undefined;
}
