import type { GuestPhysicalMemory } from '@pvlab/hypercall';
import type { GuestHypercalls } from '@pvlab/hypercall/guest';
import { PageListView } from '../page-list-view.js';
import { HostVisibility } from '../wire/visibility.js';
import { aliasPageGpas, type SharedMappingOptions, SharedPlace } from './places.js';
import { setHostVisibility, type VisibilityChangeResult } from './visibility.js';

/**
 * Linux `hv_map_memory` (5.16–6.2): one contiguous view over an arbitrary page list — the
 * vzalloc'd netvsc send/receive buffer — with each page reached through its alias
 * (`vmalloc_to_pfn(addr) + (boundary >> 12)`, then `vmap_pfn`).
 */
export function vmapPfn(
  memory: GuestPhysicalMemory,
  boundary: bigint,
  pfns: readonly bigint[],
  options: SharedMappingOptions = {},
): PageListView {
  if (pfns.length === 0) throw new RangeError('vmap_pfn of an empty page list: give at least one PFN');
  return new PageListView(
    memory,
    aliasPageGpas(pfns, boundary, options.forgetBoundary),
    SharedPlace.VMAP_PFN,
  );
}

/**
 * The netvsc buffer case: make the (non-contiguous) pages host-visible at GPADL creation, then
 * map them with `vmapPfn`. The contents are not zeroed (the host fills a receive buffer; the guest
 * writes each send section before use). A failed visibility call is returned as is.
 */
export function shareBuffer(
  hc: GuestHypercalls,
  memory: GuestPhysicalMemory,
  boundary: bigint,
  pfns: readonly bigint[],
  options: SharedMappingOptions = {},
): { readonly ok: true; readonly view: PageListView } | Extract<VisibilityChangeResult, { ok: false }> {
  const changed = setHostVisibility(hc, pfns, HostVisibility.READ_WRITE);
  if (!changed.ok) return changed;
  return { ok: true, view: vmapPfn(memory, boundary, pfns, options) };
}
