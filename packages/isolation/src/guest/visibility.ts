import { HvCallCode, HvStatus, type HvStatusCode, hvStatusName } from '@pvlab/hypercall';
import type { GuestHypercalls } from '@pvlab/hypercall/guest';
import {
  encodeModifyVisibilityInput,
  encodeQueryVisibilityInput,
  type HostVisibilityValue,
  HV_MAX_MODIFY_GPA_REP_COUNT,
  HV_MAX_QUERY_GPA_REP_COUNT,
  isHostVisibility,
  ModifySparseGpaPageHostVisibilityInput,
  ModifySparseGpaPageHostVisibilityInputElement,
  QuerySparseGpaPageHostVisibilityInput,
  QuerySparseGpaPageHostVisibilityOutputElement,
} from '../wire/visibility.js';

const PFN_BYTES = ModifySparseGpaPageHostVisibilityInputElement.size;
const OUTPUT_BYTES = QuerySparseGpaPageHostVisibilityOutputElement.size;
const visibilityField = QuerySparseGpaPageHostVisibilityOutputElement.accessors.hostVisibility;

/** How a visibility change went: every batch succeeded, or the first failing batch. */
export type VisibilityChangeResult =
  | { readonly ok: true; readonly batches: number }
  | {
      readonly ok: false;
      readonly status: HvStatusCode;
      /** `HV_STATUS_…` name, for logs. */
      readonly statusName: string;
      /** Index of the failing batch (0-based). */
      readonly batch: number;
      /** PFNs that took the visibility before the failure. */
      readonly pfnsDone: number;
    };

function checkPfns(pfns: readonly bigint[]): void {
  for (const pfn of pfns) {
    if (typeof pfn !== 'bigint' || pfn < 0n || pfn >= 1n << 64n) {
      throw new RangeError(`PFN ${String(pfn)} is not accepted: use page numbers as u64 bigints`);
    }
  }
}

/**
 * Linux `hv_vtom_set_host_visibility` / `hv_mark_gpa_visibility` (spec 05 rule 4): issues
 * HvCallModifySparseGpaPageHostVisibility over `pfns` in batches of ≤ 510 through this CPU's input
 * page, each a rep call that continues on partial completion. Stops at the first failure (Linux
 * returns -EFAULT; a failed return to private leaks the pages, rule 7).
 */
export function setHostVisibility(
  hc: GuestHypercalls,
  pfns: readonly bigint[],
  visibility: HostVisibilityValue,
): VisibilityChangeResult {
  if (!isHostVisibility(visibility)) {
    throw new RangeError(`host visibility ${String(visibility)} is not accepted: use 0, 1 or 3`);
  }
  checkPfns(pfns);
  // A full input page holds 510 PFNs; a half-page input area (the 'shared-page' layout) fewer.
  const perBatch = Math.min(
    HV_MAX_MODIFY_GPA_REP_COUNT,
    Math.floor((hc.pages.inputBytes - ModifySparseGpaPageHostVisibilityInput.size) / PFN_BYTES),
  );
  let batch = 0;
  for (let start = 0; start < pfns.length; start += perBatch, batch++) {
    const chunk = pfns.slice(start, start + perBatch);
    hc.writeInput(encodeModifyVisibilityInput(visibility, chunk));
    const r = hc.repCall(HvCallCode.HvCallModifySparseGpaPageHostVisibility, chunk.length);
    if (r.status !== HvStatus.SUCCESS) {
      return {
        ok: false,
        status: r.status,
        statusName: hvStatusName(r.status),
        batch,
        pfnsDone: start + r.repsCompleted,
      };
    }
  }
  return { ok: true, batches: batch };
}

/** The visibilities of `pfns`, or the status of the first failing batch. */
export type VisibilityQueryResult =
  | { readonly ok: true; readonly visibility: number[] }
  | {
      readonly ok: false;
      readonly status: HvStatusCode;
      readonly statusName: string;
      readonly pfnsDone: number;
    };

/** HvCallQuerySparseGpaPageHostVisibility (0x011C) over `pfns`, in batches that fit this CPU's areas (≤ 511). */
export function queryHostVisibility(hc: GuestHypercalls, pfns: readonly bigint[]): VisibilityQueryResult {
  checkPfns(pfns);
  const out: number[] = [];
  const perBatch = Math.min(
    HV_MAX_QUERY_GPA_REP_COUNT,
    Math.floor((hc.pages.inputBytes - QuerySparseGpaPageHostVisibilityInput.size) / PFN_BYTES),
    Math.floor(hc.pages.outputBytes / OUTPUT_BYTES),
  );
  for (let start = 0; start < pfns.length; start += perBatch) {
    const chunk = pfns.slice(start, start + perBatch);
    hc.writeInput(encodeQueryVisibilityInput(chunk));
    const r = hc.repCall(HvCallCode.HvCallQuerySparseGpaPageHostVisibility, chunk.length);
    const bytes = hc.readOutput(r.repsCompleted * OUTPUT_BYTES);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // HostVisibility is bits 1:0 of the element's first byte.
    for (let i = 0; i < r.repsCompleted; i++) out.push(visibilityField.get(view, i * OUTPUT_BYTES) & 3);
    if (r.status !== HvStatus.SUCCESS) {
      return {
        ok: false,
        status: r.status,
        statusName: hvStatusName(r.status),
        pfnsDone: start + r.repsCompleted,
      };
    }
  }
  return { ok: true, visibility: out };
}
