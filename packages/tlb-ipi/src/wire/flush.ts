import { defineBitLayout, defineByteStruct } from '@pvlab/hypercall';
import { HvVpSetHeader } from './vp-set.js';

/** Flush flags (u64) — spec 02 "Flush flags". */
export const HV_FLUSH_ALL_PROCESSORS = 0x1n;
export const HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES = 0x2n;
export const HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY = 0x4n;
export const HV_FLUSH_USE_EXTENDED_RANGE_FORMAT = 0x8n;
/** Flags a "Space" call may set. */
export const HV_FLUSH_SPACE_FLAGS =
  HV_FLUSH_ALL_PROCESSORS | HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES | HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY;
/** Flags a "List" call may set. */
export const HV_FLUSH_LIST_FLAGS = HV_FLUSH_SPACE_FLAGS | HV_FLUSH_USE_EXTENDED_RANGE_FORMAT;

/**
 * HvCallFlushVirtualAddressSpace (0x0002) input: AddressSpace, Flags (`HV_FLUSH_*`),
 * ProcessorMask (24 bytes).
 */
export const FlushVirtualAddressSpaceInput = defineByteStruct('HV_INPUT_FLUSH_VIRTUAL_ADDRESS_SPACE', [
  { name: 'addressSpace', offset: 0, type: 'u64' },
  { name: 'flags', offset: 8, type: 'u64' },
  { name: 'processorMask', offset: 16, type: 'u64' },
] as const);

/** HvCallFlushVirtualAddressList (0x0003) input: the same 24-byte header; GVA ranges follow at 24 + 8·i. */
export const FlushVirtualAddressListInput = FlushVirtualAddressSpaceInput;

/**
 * A List call's rep element: one GVA range entry, in the simple format (`GvaRange`) or, with
 * USE_EXTENDED_RANGE_FORMAT, the extended ones (`decodeGvaRange` picks).
 */
export const FlushVirtualAddressListInputElement = defineByteStruct('HV_GVA_RANGE', [
  { name: 'gvaRange', offset: 0, type: 'u64' },
] as const);

/**
 * HvCallFlushVirtualAddressSpaceEx (0x0013) input: AddressSpace, Flags, then the fixed part of an
 * HV_VP_SET at 16 (32 bytes). The banks are the variable header (VariableHeaderSize = bank
 * count, from 32).
 */
export const FlushVirtualAddressSpaceExInput = defineByteStruct('HV_INPUT_FLUSH_VIRTUAL_ADDRESS_SPACE_EX', [
  { name: 'addressSpace', offset: 0, type: 'u64' },
  { name: 'flags', offset: 8, type: 'u64' },
  { name: 'vpSet', offset: 16, type: { struct: HvVpSetHeader } },
] as const);

/** HvCallFlushVirtualAddressListEx (0x0014) input: as 0x0013; GVA ranges follow the banks, at 32 + 8n + 8·i. */
export const FlushVirtualAddressListExInput = FlushVirtualAddressSpaceExInput;

/** HvCallFlushVirtualAddressListEx's rep element: one GVA range entry, as 0x0003's. */
export const FlushVirtualAddressListExInputElement = FlushVirtualAddressListInputElement;

/** A GVA range entry in the simple format: AdditionalPages 11:0, GVA page number 63:12. */
export const GvaRange = defineBitLayout('HV_GVA_RANGE', [
  { name: 'AdditionalPages', lsb: 0, width: 12 },
  { name: 'PageNumber', lsb: 12, width: 52 },
] as const);

/** Extended format, LargePage = 0: AdditionalPages 10:0, LargePage 11, page number 63:12. */
export const GvaRangeExtended = defineBitLayout('HV_GVA_RANGE_EXTENDED', [
  { name: 'AdditionalPages', lsb: 0, width: 11 },
  { name: 'LargePage', lsb: 11, width: 1 },
  { name: 'PageNumber', lsb: 12, width: 52 },
] as const);

/** Extended format, LargePage = 1: PageSize 12 (0 = 2 MiB, 1 = 1 GiB), RsvdZ 20:13, large-page number 63:21. */
export const GvaRangeExtendedLarge = defineBitLayout('HV_GVA_RANGE_EXTENDED (large page)', [
  { name: 'AdditionalPages', lsb: 0, width: 11 },
  { name: 'LargePage', lsb: 11, width: 1 },
  { name: 'PageSize', lsb: 12, width: 1 },
  { name: 'Rsvd', lsb: 13, width: 8, kind: 'reserved-zero' },
  { name: 'LargePageNumber', lsb: 21, width: 43 },
] as const);

/** The pages a GVA range entry covers: `pages` pages of `pageBytes` each from `gva`. */
export interface DecodedGvaRange {
  readonly gva: bigint;
  readonly pages: number;
  readonly pageBytes: number;
}

const MIB2 = 2 * 1024 * 1024;
const GIB1 = 1024 * 1024 * 1024;

/**
 * Decodes a GVA range entry per the flush's USE_EXTENDED_RANGE_FORMAT flag (not always the simple
 * format, as KVM does — spec 02 rule 16). `undefined` when an extended large-page entry has
 * reserved bits set.
 */
export function decodeGvaRange(entry: bigint, extended: boolean): DecodedGvaRange | undefined {
  if (!extended) {
    const r = GvaRange.decode(entry);
    return { gva: BigInt(r.PageNumber) << 12n, pages: r.AdditionalPages + 1, pageBytes: 4096 };
  }
  if ((entry & (1n << 11n)) === 0n) {
    const r = GvaRangeExtended.decode(entry);
    return { gva: BigInt(r.PageNumber) << 12n, pages: r.AdditionalPages + 1, pageBytes: 4096 };
  }
  if (GvaRangeExtendedLarge.reservedZeroBits(entry) !== 0n) return undefined;
  const r = GvaRangeExtendedLarge.decode(entry);
  return {
    gva: BigInt(r.LargePageNumber) << 21n,
    pages: r.AdditionalPages + 1,
    pageBytes: r.PageSize ? GIB1 : MIB2,
  };
}

/** The most 4 KiB pages one simple GVA range entry covers (AdditionalPages 4095). */
export const HV_GVA_RANGE_MAX_PAGES = 4096;

/**
 * Linux's `CR3_ADDR_MASK` (bits 51:12): a flush's AddressSpace is the page-directory address with
 * the PCID, flag and encryption bits stripped (spec 02 "Input layouts").
 */
export const CR3_ADDR_MASK = 0x000f_ffff_ffff_f000n;

/** Encodes a simple GVA range: `pages` (1..4096) 4 KiB pages from page-aligned `gva`. */
export function encodeGvaRange(gva: bigint, pages: number): bigint {
  if (!Number.isInteger(pages) || pages < 1 || pages > HV_GVA_RANGE_MAX_PAGES)
    throw new RangeError(`a GVA range covers 1..${HV_GVA_RANGE_MAX_PAGES} pages, not ${pages}`);
  return (gva & ~0xfffn) | BigInt(pages - 1);
}
