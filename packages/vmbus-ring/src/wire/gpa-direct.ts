/**
 * VM_PKT_DATA_USING_GPA_DIRECT (type 9) — spec 04 "Packet descriptor": after the descriptor an
 * extra header `u32 rsvd, u32 range_count (≥ 1)`, then `range_count` ranges
 * `{u32 len, u32 offset, u64 pfn[]}` (Linux `struct vmbus_packet_mpb_array` / `hv_mpb_array`).
 * A range's PFN count follows from offset + len over 4 KiB pages. The payload (offset8 × 8 on)
 * is in-band data that travels with the ranges. Decoding takes peer bytes: every bad value is a
 * `RingCorruptError` result, never an exception.
 */
import { HV_PAGE_SIZE } from '@pvlab/hypercall';
import { VMPACKET_DESCRIPTOR_SIZE } from './packet.js';
import { RingCorruptError, type RingCorruptKind } from './validate.js';

/** Bytes of the extra header before the first range: u32 rsvd, u32 range_count. */
export const GPA_DIRECT_EXTRA_HEADER_SIZE = 8;
/** Bytes of one range's `{u32 len, u32 offset}` before its PFNs. */
export const GPA_RANGE_HEADER_SIZE = 8;
/**
 * Default bound on the PFNs of one packet (all ranges): 512 pages = 2 MiB, storvsc's largest
 * transfer. A packet naming more is corrupt (`gpa-too-many-pages`).
 */
export const GPA_DIRECT_MAX_PAGES = 512;

/** One range of a GPA-direct packet: `length` bytes from `offset` of the first of `pfns` on. */
export interface GpaDirectRange {
  /** Plain guest page numbers (spec 05 rule 15: an isolation VM's host adds the boundary). */
  readonly pfns: readonly bigint[];
  /** Byte offset in the first page (0..4095). */
  readonly offset: number;
  /** Bytes (≥ 1). */
  readonly length: number;
}

/** Pages a range of `length` bytes at `offset` of its first page touches. */
export function gpaRangePageCount(offset: number, length: number): number {
  return Math.ceil((offset + length) / HV_PAGE_SIZE);
}

/** Bytes of the extra header and ranges (what sits between the descriptor and offset8 × 8). */
export function gpaDirectExtraHeaderBytes(ranges: readonly GpaDirectRange[]): number {
  let n = GPA_DIRECT_EXTRA_HEADER_SIZE;
  for (const r of ranges) n += GPA_RANGE_HEADER_SIZE + 8 * r.pfns.length;
  return n;
}

/**
 * The extra header and ranges of a GPA-direct packet (u32 rsvd = 0, u32 range_count, ranges):
 * always a multiple of 8 bytes, so offset8 = (16 + its length) / 8. Throws a RangeError naming
 * the range when a range is not 1..(2^32 − 1) bytes at an offset 0..4095 with exactly the PFNs
 * its pages need, or when there is no range.
 */
export function encodeGpaDirectRanges(ranges: readonly GpaDirectRange[]): Uint8Array {
  if (ranges.length === 0) throw new RangeError('GPA-direct ranges: none given; use at least one range');
  ranges.forEach(checkRange);
  const out = new Uint8Array(gpaDirectExtraHeaderBytes(ranges));
  const view = new DataView(out.buffer);
  view.setUint32(4, ranges.length, true);
  let at = GPA_DIRECT_EXTRA_HEADER_SIZE;
  for (const r of ranges) {
    view.setUint32(at, r.length, true);
    view.setUint32(at + 4, r.offset, true);
    at += GPA_RANGE_HEADER_SIZE;
    for (const pfn of r.pfns) {
      view.setBigUint64(at, pfn, true);
      at += 8;
    }
  }
  return out;
}

function checkRange(r: GpaDirectRange, i: number): void {
  if (!Number.isInteger(r.length) || r.length < 1 || r.length > 0xffff_ffff) {
    throw new RangeError(
      `GPA-direct range ${i}: length ${r.length} is not accepted: use 1..4294967295 bytes`,
    );
  }
  if (!Number.isInteger(r.offset) || r.offset < 0 || r.offset >= HV_PAGE_SIZE) {
    throw new RangeError(`GPA-direct range ${i}: offset ${r.offset} is not accepted: use 0..4095`);
  }
  const pages = gpaRangePageCount(r.offset, r.length);
  if (r.pfns.length !== pages) {
    throw new RangeError(
      `GPA-direct range ${i}: ${r.pfns.length} PFN(s) given, ${r.length} bytes at offset ${r.offset} need ${pages}`,
    );
  }
  for (const pfn of r.pfns) {
    if (typeof pfn !== 'bigint' || pfn < 0n || pfn > 0xffff_ffff_ffff_ffffn) {
      throw new RangeError(`GPA-direct range ${i}: PFN ${String(pfn)} is not accepted: use a u64 bigint`);
    }
  }
}

/** What `decodeGpaDirectRanges` gives. */
export type GpaDirectDecodeResult =
  | { readonly ok: true; readonly ranges: readonly GpaDirectRange[]; readonly pages: number }
  | { readonly ok: false; readonly error: RingCorruptError };

/**
 * Decodes the bytes between the descriptor and offset8 × 8 (`RingPacket.extraHeader`). Corrupt:
 * fewer than 8 bytes (`missing-extra-header`), range_count 0 (`no-gpa-ranges`), a range header or
 * PFN list past the end (`gpa-ranges-overrun`), len 0 or offset ≥ 4096 (`gpa-range-invalid`),
 * more than `maxPages` PFNs in all (`gpa-too-many-pages`). Bytes after the last range are
 * ignored (as openvmm does: the ranges are read from the front of the extra header).
 */
export function decodeGpaDirectRanges(
  extraHeader: Uint8Array,
  options: { readonly maxPages?: number } = {},
): GpaDirectDecodeResult {
  const maxPages = options.maxPages ?? GPA_DIRECT_MAX_PAGES;
  const fail = (kind: RingCorruptKind, why: string) => ({
    ok: false as const,
    error: new RingCorruptError(kind, `VM_PKT_DATA_USING_GPA_DIRECT: ${why}`),
  });
  const size = extraHeader.length;
  if (size < GPA_DIRECT_EXTRA_HEADER_SIZE) {
    return fail('missing-extra-header', `${size} bytes of extra header, fewer than 8`);
  }
  const view = new DataView(extraHeader.buffer, extraHeader.byteOffset, size);
  const count = view.getUint32(4, true);
  if (count === 0) return fail('no-gpa-ranges', 'range_count 0');
  // Each range takes ≥ 16 bytes: a count that cannot fit fails before any loop runs long.
  if (count > (size - GPA_DIRECT_EXTRA_HEADER_SIZE) / (GPA_RANGE_HEADER_SIZE + 8)) {
    return fail(
      'gpa-ranges-overrun',
      `range_count ${count} cannot fit in ${size - GPA_DIRECT_EXTRA_HEADER_SIZE} bytes of ranges`,
    );
  }
  const ranges: GpaDirectRange[] = [];
  let pages = 0;
  let at = GPA_DIRECT_EXTRA_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    if (at + GPA_RANGE_HEADER_SIZE > size) {
      return fail('gpa-ranges-overrun', `range ${i} starts at byte ${at} of ${size}`);
    }
    const length = view.getUint32(at, true);
    const offset = view.getUint32(at + 4, true);
    at += GPA_RANGE_HEADER_SIZE;
    if (length === 0 || offset >= HV_PAGE_SIZE) {
      return fail(
        'gpa-range-invalid',
        `range ${i}: len ${length}, offset ${offset} (use len ≥ 1, offset < 4096)`,
      );
    }
    const n = gpaRangePageCount(offset, length);
    if (pages + n > maxPages) {
      return fail('gpa-too-many-pages', `range ${i} brings the PFNs to ${pages + n}, more than ${maxPages}`);
    }
    if (at + 8 * n > size) {
      return fail('gpa-ranges-overrun', `range ${i} needs ${n} PFN(s) at byte ${at}, past ${size}`);
    }
    const pfns: bigint[] = [];
    for (let k = 0; k < n; k++, at += 8) pfns.push(view.getBigUint64(at, true));
    pages += n;
    ranges.push({ pfns, offset, length });
  }
  return { ok: true, ranges, pages };
}

/** offset8 of a GPA-direct packet with these ranges. */
export function gpaDirectOffset8(ranges: readonly GpaDirectRange[]): number {
  return (VMPACKET_DESCRIPTOR_SIZE + gpaDirectExtraHeaderBytes(ranges)) / 8;
}
