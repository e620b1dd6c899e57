/**
 * The guest's view of a channel's two rings, over the GPADL's pages: fresh (zeroed, and in an
 * isolation VM made host-visible first) when a channel is opened, or as they are when a driver
 * resumes a channel that is still open on the host.
 */
import { type GuestMemory, GuestPage, HV_PAGE_SIZE } from '@pvlab/hypercall';
import type { DoubleMappedRingView, GuestBoundaryView, GuestHypercalls } from '@pvlab/hypercall/guest';
import { RingMemory, type RingPageAccessor } from '../ring/ring-memory.js';
import type { VmbusIsolationOptions } from './client-types.js';

/** Both rings of a channel, and in an isolation VM their double mappings. */
export interface ChannelRingMemories {
  readonly outbound: RingMemory;
  readonly inbound: RingMemory;
  readonly mappings: readonly [DoubleMappedRingView, DoubleMappedRingView] | null;
}

/** The error for a refused visibility change (given the call's status name). */
export type RingVisibilityRefused = (statusName: string) => Error;

/**
 * Ring memories over `pfns` (`outboundPages` of them the guest→host ring). With `fresh`, the
 * pages are zeroed first. Isolation VM (Linux 5.16–6.2 `hv_ringbuffer_init`): fresh pages are
 * made host-visible, each ring double-mapped through the alias ([header, data…, data…]) and zeroed
 * there; the ring works over the mapping's first copy (spec 04 rule 10 lets it wrap copies
 * explicitly) and every ring operation re-runs the alias checks. With `forgetBoundary.rings` the
 * mapping uses the private GPAs and the guest's view faults.
 */
export function channelRingMemories(
  o: { memory: GuestMemory; hypercalls: GuestHypercalls; isolation?: VmbusIsolationOptions | undefined },
  pfns: readonly bigint[],
  outboundPages: number,
  fresh: boolean,
  refused: RingVisibilityRefused,
): ChannelRingMemories {
  const halves = [pfns.slice(0, outboundPages), pfns.slice(outboundPages)] as const;
  const iso = o.isolation;
  if (iso === undefined) {
    if (fresh) for (const pfn of pfns) o.memory.fill(GuestPage.address(pfn), HV_PAGE_SIZE, 0);
    return {
      outbound: RingMemory.fromGuestPages(o.memory, halves[0]),
      inbound: RingMemory.fromGuestPages(o.memory, halves[1]),
      mappings: null,
    };
  }
  const { sharing } = iso;
  if (fresh) {
    const changed = sharing.makeHostVisible(o.hypercalls, pfns);
    if (!changed.ok) throw refused(changed.statusName);
  }
  const forget = iso.forgetBoundary?.rings === true;
  const mappings = halves.map((half) => {
    const ring = sharing.mapRing(half, { forgetBoundary: forget });
    if (fresh) ring.zero(0, HV_PAGE_SIZE + ring.dataSize); // the conversion left garbage
    return ring;
  }) as [DoubleMappedRingView, DoubleMappedRingView];
  const memoryOf = (ring: DoubleMappedRingView) => {
    const gpas = ring.pageGpas.slice(0, 1 + ring.dataSize / HV_PAGE_SIZE);
    return RingMemory.fromPages(boundaryAccessor(sharing.memory, gpas, ring.place), gpas);
  };
  return { outbound: memoryOf(mappings[0]), inbound: memoryOf(mappings[1]), mappings };
}

/**
 * A ring's pages through the guest's boundary view: each page's bytes after the alias checks,
 * and the checks again before every ring operation (a page whose visibility changed faults).
 */
function boundaryAccessor(
  memory: GuestBoundaryView,
  gpas: readonly bigint[],
  place: string,
): RingPageAccessor {
  return {
    page: (gpa) =>
      new Uint8Array(memory.ram.buffer, memory.offsetOf(gpa, HV_PAGE_SIZE, 'write', place), HV_PAGE_SIZE),
    check: () => {
      for (const gpa of gpas) memory.offsetOf(gpa, HV_PAGE_SIZE, 'write', place);
    },
  };
}
