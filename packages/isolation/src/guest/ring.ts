import type { GuestPhysicalMemory } from '@pvlab/hypercall';
import { HV_PAGE_SIZE } from '@pvlab/hypercall';
import type { GuestHypercalls } from '@pvlab/hypercall/guest';
import { PageListView } from '../page-list-view.js';
import { HostVisibility } from '../wire/visibility.js';
import { aliasPageGpas, type SharedMappingOptions, SharedPlace } from './places.js';
import { setHostVisibility, type VisibilityChangeResult } from './visibility.js';

/**
 * A ring mapped the way Linux 5.16–6.2 maps it in an isolation VM (`hv_ringbuffer_init`):
 * `vmap_pfn` over [header, data 0..n−1, data 0..n−1] through the alias, so a packet that wraps
 * at the end of the data area reads on contiguously into the second copy.
 */
export class DoubleMappedRing extends PageListView {
  /** Bytes of the data area (n pages); the view is 4096 + 2 × dataSize bytes. */
  readonly dataSize: number;
  /** View offset of the data area's first copy (4096). */
  readonly dataOffset = HV_PAGE_SIZE;

  constructor(memory: GuestPhysicalMemory, pageGpas: readonly bigint[], place: string) {
    const data = pageGpas.slice(1);
    super(memory, [...pageGpas.slice(0, 1), ...data, ...data], place);
    this.dataSize = data.length * HV_PAGE_SIZE;
  }

  /** Reads `length` bytes of the data area at ring offset `offset` (may run into the second copy). */
  readData(offset: number, length: number): Uint8Array {
    return this.read(this.dataOffset + offset, length);
  }

  /** Writes `data` into the data area at ring offset `offset` (may run into the second copy). */
  writeData(offset: number, data: Uint8Array): void {
    this.write(this.dataOffset + offset, data);
  }
}

/** Options of the ring helpers. */
export interface RingMappingOptions extends SharedMappingOptions {
  /**
   * Spec 05 rule 8: a ring offered with `confidential_ring_buffer` (served by a paravisor) stays
   * private: no visibility call, mapped through the private GPAs. Default `false`.
   */
  readonly confidential?: boolean;
}

/**
 * The double mapping of a ring whose first PFN is the header page and the rest its data pages
 * (a GPADL's PFN list), through the alias — or, with `forgetBoundary`, through the private GPAs
 * (the bug). Nothing is checked until the view is used: each access runs the isolation checks.
 */
export function mapRingThroughAlias(
  memory: GuestPhysicalMemory,
  boundary: bigint,
  pfns: readonly bigint[],
  options: RingMappingOptions = {},
): DoubleMappedRing {
  if (pfns.length < 2) {
    throw new RangeError(`a ring needs a header page and at least one data page, got ${pfns.length} PFN(s)`);
  }
  const privateRing = options.confidential === true || options.forgetBoundary === true;
  return new DoubleMappedRing(memory, aliasPageGpas(pfns, boundary, privateRing), SharedPlace.RING_BUFFER);
}

/**
 * What Linux does for a ring at GPADL creation in an isolation VM: make its pages host-visible
 * (skipped for a confidential ring), map them double through the alias and zero the header
 * (the conversion left garbage in it). A failed visibility call is returned as is.
 */
export function shareRing(
  hc: GuestHypercalls,
  memory: GuestPhysicalMemory,
  boundary: bigint,
  pfns: readonly bigint[],
  options: RingMappingOptions = {},
): { readonly ok: true; readonly ring: DoubleMappedRing } | Extract<VisibilityChangeResult, { ok: false }> {
  if (options.confidential !== true) {
    const changed = setHostVisibility(hc, pfns, HostVisibility.READ_WRITE);
    if (!changed.ok) return changed;
  }
  const ring = mapRingThroughAlias(memory, boundary, pfns, options);
  ring.zero(0, HV_PAGE_SIZE);
  return { ok: true, ring };
}
