import { defineBitLayout, defineByteStruct, HV_PAGE_SIZE, HV_PARTITION_ID_SELF } from '@pvlab/hypercall';

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
 * HvCallModifySparseGpaPageHostVisibility (0x00DB, rep, no output) input header: u64 PartitionId,
 * u32 HostVisibility (bits 1:0; 31:2 RsvdZ), u32 RsvdZ — `ModifyVisibilityFlags` reads the two
 * u32s as one u64.
 */
export const ModifySparseGpaPageHostVisibilityInput = defineByteStruct(
  'HV_INPUT_MODIFY_SPARSE_GPA_PAGE_HOST_VISIBILITY',
  [
    { name: 'partitionId', offset: 0, type: 'u64' },
    { name: 'hostVisibility', offset: 8, type: 'u32' },
    { name: 'reserved', offset: 12, type: 'u32', kind: 'reserved-zero' },
  ] as const,
);

/** 0x00DB's rep element: a u64 GPA page number (a PFN, not an address). */
export const ModifySparseGpaPageHostVisibilityInputElement = defineByteStruct('HV_GPA_PAGE_NUMBER', [
  { name: 'gpaPageNumber', offset: 0, type: 'u64' },
] as const);

/** HvCallQuerySparseGpaPageHostVisibility (0x011C, rep) input header: u64 PartitionId. */
export const QuerySparseGpaPageHostVisibilityInput = defineByteStruct(
  'HV_INPUT_QUERY_SPARSE_GPA_PAGE_HOST_VISIBILITY',
  [{ name: 'partitionId', offset: 0, type: 'u64' }] as const,
);

/** 0x011C's rep input element: a u64 PFN, as 0x00DB's. */
export const QuerySparseGpaPageHostVisibilityInputElement = ModifySparseGpaPageHostVisibilityInputElement;

/**
 * 0x011C's rep output element in pvlab: 8 bytes whose first holds the HostVisibility (bits 1:0).
 * openvmm uses one byte; pvlab's dispatcher writes whole 8-byte elements (see README decisions).
 */
export const QuerySparseGpaPageHostVisibilityOutputElement = defineByteStruct('HV_HOST_VISIBILITY', [
  { name: 'hostVisibility', offset: 0, type: 'u8' },
  { name: 'reserved', offset: 1, type: { bytes: 7 }, kind: 'reserved-zero' },
] as const);

const PFN_BYTES = ModifySparseGpaPageHostVisibilityInputElement.size;
const gpaPageNumber = ModifySparseGpaPageHostVisibilityInputElement.accessors.gpaPageNumber;

/** Spec 05: at most 4096/8 − 2 = 510 PFNs fit one input page (Linux HV_MAX_MODIFY_GPA_REP_COUNT). */
export const HV_MAX_MODIFY_GPA_REP_COUNT =
  (HV_PAGE_SIZE - ModifySparseGpaPageHostVisibilityInput.size) / PFN_BYTES;

/** At most 4096/8 − 1 = 511 PFNs fit one 0x011C input page. */
export const HV_MAX_QUERY_GPA_REP_COUNT =
  (HV_PAGE_SIZE - QuerySparseGpaPageHostVisibilityInput.size) / PFN_BYTES;

/** A header followed by `pfns`, the rep elements. */
function withPfns(header: Uint8Array, pfns: readonly bigint[]): Uint8Array {
  const bytes = new Uint8Array(header.length + PFN_BYTES * pfns.length);
  bytes.set(header);
  const view = new DataView(bytes.buffer);
  pfns.forEach((pfn, i) => {
    gpaPageNumber.set(view, pfn, header.length + PFN_BYTES * i);
  });
  return bytes;
}

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
  const header = ModifySparseGpaPageHostVisibilityInput.encode({
    partitionId,
    // A u32, as the guest's store would truncate it.
    hostVisibility: visibility >>> 0,
  });
  return withPfns(header, pfns);
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
  return withPfns(QuerySparseGpaPageHostVisibilityInput.encode({ partitionId }), pfns);
}
