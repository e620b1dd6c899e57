import { HV_PAGE_SHIFT } from '@pvlab/hypercall';

/**
 * Spec 05 rule 3: the shared alias of a private GPA is `gpa | boundary` (= gpa + boundary, since
 * gpa < boundary). With boundary 0 (an ordinary VM) the alias is the GPA itself.
 */
export function sharedAliasOf(gpa: bigint, boundary: bigint): bigint {
  return gpa | boundary;
}

/** The alias of page `pfn`'s first byte: `(pfn << 12) | boundary` (Linux: `pfn + (boundary >> 12)`). */
export function sharedAliasOfPage(pfn: bigint, boundary: bigint): bigint {
  return (pfn << BigInt(HV_PAGE_SHIFT)) | boundary;
}

/** Which half of the GPA space an address is in, and the RAM page behind it. */
export interface AliasDecoding {
  /** `private` below the boundary, `shared` at or above it. */
  readonly side: 'private' | 'shared';
  /** The RAM GPA behind the address (the address itself below the boundary). */
  readonly ramGpa: bigint;
  readonly pfn: bigint;
}

/** Decodes a GPA against the boundary (boundary 0: every GPA is private RAM). */
export function decodeAlias(gpa: bigint, boundary: bigint): AliasDecoding {
  const shared = boundary !== 0n && gpa >= boundary;
  const ramGpa = shared ? gpa - boundary : gpa;
  return { side: shared ? 'shared' : 'private', ramGpa, pfn: ramGpa >> BigInt(HV_PAGE_SHIFT) };
}
