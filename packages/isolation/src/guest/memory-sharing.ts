import type { GuestBoundaryView, GuestMemorySharing } from '@pvlab/hypercall/guest';
import { HostVisibility } from '../wire/visibility.js';
import { shareMonitorPages } from './monitor-pages.js';
import { aliasPageGpas } from './places.js';
import { mapRingThroughAlias } from './ring.js';
import { setHostVisibility } from './visibility.js';

/**
 * The core's `GuestMemorySharing` port, provided by this package's guest helpers: what an app
 * hands a driver from another package (`VmbusClient`'s `isolation.sharing`) so that the driver
 * shares its pages the way this package does, without depending on it. `boundary` and `memory`
 * are the guest's (`cpu.isolation` in a guest program).
 */
export function guestMemorySharing(boundary: bigint, memory: GuestBoundaryView): GuestMemorySharing {
  if (typeof boundary !== 'bigint' || boundary <= 0n) {
    throw new RangeError(
      `isolation boundary ${String(boundary)} is not accepted: use the shared GPA boundary (a bigint > 0)`,
    );
  }
  return {
    boundary,
    memory,
    makeHostVisible: (hc, pfns) => setHostVisibility(hc, pfns, HostVisibility.READ_WRITE),
    makePrivate: (hc, pfns) => setHostVisibility(hc, pfns, HostVisibility.NOT_VISIBLE),
    aliasPageGpas: (pfns) => aliasPageGpas(pfns, boundary),
    shareMonitorPages: (hc, pfns) => shareMonitorPages(hc, memory, boundary, pfns),
    mapRing: (pfns, options) => mapRingThroughAlias(memory, boundary, pfns, options),
  };
}
