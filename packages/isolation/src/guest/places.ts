import { HV_PAGE_SHIFT } from '@pvlab/hypercall';

/** The four places of spec 05 where Linux applies the boundary; faults and refusals name them. */
export const SharedPlace = {
  MONITOR_PAGE: 'VMBus monitor page',
  RING_BUFFER: 'VMBus ring buffer',
  VMAP_PFN: 'netvsc buffer (vmap_pfn)',
  BOUNCE_POOL: 'swiotlb bounce pool',
} as const;

/** Options every place takes. */
export interface SharedMappingOptions {
  /**
   * Reproduces the bug: the place uses the private GPA (no boundary) for a page it made shared.
   * The isolation checks must catch it (an `IsolationFault` or a `HostAccessError` naming the place).
   */
  readonly forgetBoundary?: boolean;
}

/** The GPAs through which the guest reaches `pfns`: the shared alias, or (the bug) the private GPA. */
export function aliasPageGpas(pfns: readonly bigint[], boundary: bigint, forgetBoundary = false): bigint[] {
  const shift = BigInt(HV_PAGE_SHIFT);
  return pfns.map((pfn) => {
    if (typeof pfn !== 'bigint' || pfn < 0n) {
      throw new RangeError(`PFN ${String(pfn)} is not accepted: use page numbers as bigints ≥ 0`);
    }
    return forgetBoundary ? pfn << shift : (pfn << shift) | boundary;
  });
}
