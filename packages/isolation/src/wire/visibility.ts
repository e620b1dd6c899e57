import { defineBitLayout, HV_PAGE_SIZE, HV_PARTITION_ID_SELF } from '@pvlab/hypercall';

/** The call codes of spec 05. */
export const IsolationCallCode = {
  HvCallModifySparseGpaPageHostVisibility: 0x00db,
  HvCallQuerySparseGpaPageHostVisibility: 0x011c,
} as const;

/** HV_PARTITION_ID_SELF (the only id a guest may name), declared once in the core's wire. */
export { HV_PARTITION_ID_SELF } from '@pvlab/hypercall';

/**
 * HostVisibility (bits 1:0) — spec 05 / Linux `hv_mem_host_visibility`: 0 NOT_VISIBLE (private),
 * 1 READ_ONLY, 3 READ_WRITE; 2 is undefined.
 */
export const HostVisibility = { NOT_VISIBLE: 0, READ_ONLY: 1, READ_WRITE: 3 } as const;

/** A HostVisibility value a page can have. */
export type HostVisibilityValue = (typeof HostVisibility)[keyof typeof HostVisibility];

/** The spec name of a visibility, or `undefined visibility N` (an open enum). */
export function hostVisibilityName(value: number): string {
  const entry = Object.entries(HostVisibility).find(([, v]) => v === value);
  return entry ? entry[0] : `undefined visibility ${value}`;
}

/** `true` for 0, 1 and 3. */
export function isHostVisibility(value: number): value is HostVisibilityValue {
  return value === 0 || value === 1 || value === 3;
}

/**
 * Bytes 8..15 of the 0x00DB input as one u64: bits 1:0 HostVisibility, 31:2 RsvdZ, and the RsvdZ
 * u32 at offset 12 (bits 63:32).
 */
export const ModifyVisibilityFlags = defineBitLayout('HvCallModifySparseGpaPageHostVisibility flags', [
  { name: 'HostVisibility', lsb: 0, width: 2 },
  { name: 'Rsvd', lsb: 2, width: 30, kind: 'reserved-zero' },
  { name: 'RsvdU32', lsb: 32, width: 32, kind: 'reserved-zero' },
] as const);

/**
 * 0x00DB input (rep, no output): u64 PartitionId at 0, u32 flags at 8, u32 RsvdZ at 12, then rep
 * element i (u64 GPA page number, not address) at 16 + 8i.
 */
export const ModifyVisibilityInput = {
  partitionId: 0,
  hostVisibility: 8,
  reserved: 12,
  headerBytes: 16,
  elementBytes: 8,
} as const;

/**
 * 0x011C input (rep): u64 PartitionId at 0, then rep element i (u64 PFN) at 8 + 8i. Output: one
 * HostVisibility per PFN (see `QUERY_VISIBILITY_OUTPUT_ELEMENT_BYTES`).
 */
export const QueryVisibilityInput = {
  partitionId: 0,
  headerBytes: 8,
  elementBytes: 8,
} as const;

/**
 * Bytes of one 0x011C output element in pvlab: a u64 whose bits 1:0 are the HostVisibility.
 * openvmm uses one byte; pvlab's dispatcher writes whole 8-byte elements (see README decisions).
 */
export const QUERY_VISIBILITY_OUTPUT_ELEMENT_BYTES = 8;

/** Spec 05: at most 4096/8 − 2 = 510 PFNs fit one input page (Linux HV_MAX_MODIFY_GPA_REP_COUNT). */
export const HV_MAX_MODIFY_GPA_REP_COUNT = HV_PAGE_SIZE / 8 - 2;

/** At most 4096/8 − 1 = 511 PFNs fit one 0x011C input page. */
export const HV_MAX_QUERY_GPA_REP_COUNT = HV_PAGE_SIZE / 8 - 1;

/** The 0x00DB input list for `pfns` (one page at most: ≤ 510 PFNs). */
export function encodeModifyVisibilityInput(
  visibility: number,
  pfns: readonly bigint[],
  partitionId: bigint = HV_PARTITION_ID_SELF,
): Uint8Array {
  if (pfns.length > HV_MAX_MODIFY_GPA_REP_COUNT) {
    throw new RangeError(
      `${pfns.length} PFNs do not fit one 0x00DB input page: use at most ${HV_MAX_MODIFY_GPA_REP_COUNT}`,
    );
  }
  const bytes = new Uint8Array(ModifyVisibilityInput.headerBytes + 8 * pfns.length);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(ModifyVisibilityInput.partitionId, BigInt.asUintN(64, partitionId), true);
  view.setUint32(ModifyVisibilityInput.hostVisibility, visibility >>> 0, true);
  pfns.forEach((pfn, i) => {
    view.setBigUint64(ModifyVisibilityInput.headerBytes + 8 * i, BigInt.asUintN(64, pfn), true);
  });
  return bytes;
}

/** The 0x011C input list for `pfns` (≤ 511 PFNs). */
export function encodeQueryVisibilityInput(
  pfns: readonly bigint[],
  partitionId: bigint = HV_PARTITION_ID_SELF,
): Uint8Array {
  if (pfns.length > HV_MAX_QUERY_GPA_REP_COUNT) {
    throw new RangeError(
      `${pfns.length} PFNs do not fit one 0x011C input page: use at most ${HV_MAX_QUERY_GPA_REP_COUNT}`,
    );
  }
  const bytes = new Uint8Array(QueryVisibilityInput.headerBytes + 8 * pfns.length);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(QueryVisibilityInput.partitionId, BigInt.asUintN(64, partitionId), true);
  pfns.forEach((pfn, i) => {
    view.setBigUint64(QueryVisibilityInput.headerBytes + 8 * i, BigInt.asUintN(64, pfn), true);
  });
  return bytes;
}
