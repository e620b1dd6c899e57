import { HV_PAGE_SIZE } from '@pvlab/hypercall';
import { encodeGvaRange, HV_GVA_RANGE_MAX_PAGES } from '../wire/flush.js';

/** Linux `HV_TLB_FLUSH_UNIT`: the bytes one GVA range entry covers at most (4096 pages = 16 MiB). */
export const HV_TLB_FLUSH_UNIT = BigInt(HV_GVA_RANGE_MAX_PAGES * HV_PAGE_SIZE);

const PAGE = BigInt(HV_PAGE_SIZE);

/**
 * Linux `fill_gva_list` (spec 02 rule 3): the simple-format GVA range entries for the bytes
 * `[start, end)`, each covering at most 4096 pages — `page | min(pages − 1, 4095)` for
 * page-aligned ranges. As in Linux, the page count comes from the byte distance to `end` from
 * `start` (not from `start`'s page), and `end ≤ start` still gives one entry for `start`'s page.
 */
export function fillGvaList(start: bigint, end: bigint): bigint[] {
  const entries: bigint[] = [];
  let cur = start;
  do {
    const diff = end > cur ? end - cur : 0n;
    if (diff >= HV_TLB_FLUSH_UNIT) {
      entries.push(encodeGvaRange(cur, HV_GVA_RANGE_MAX_PAGES));
      cur += HV_TLB_FLUSH_UNIT;
    } else if (diff > 0n) {
      entries.push(encodeGvaRange(cur, Number((diff - 1n) / PAGE) + 1));
      cur = end;
    } else {
      entries.push(encodeGvaRange(cur, 1));
    }
  } while (cur < end);
  return entries;
}

/** How many entries `fillGvaList(start, end)` gives, without building them. */
export function gvaListLength(start: bigint, end: bigint): number {
  if (end <= start) return 1;
  return Number((end - start + HV_TLB_FLUSH_UNIT - 1n) / HV_TLB_FLUSH_UNIT);
}
