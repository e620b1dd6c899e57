/**
 * The monitor pages on the guest side and how the guest signals the host (spec 04 rule 12;
 * Linux `vmbus_connect`, `vmbus_setevent`): INITIATE_CONTACT carries the two pages, which an
 * isolation VM first shares with the host and then reaches only through their aliases; a
 * monitored channel signals by setting its pending bit in the child→parent page, any other with
 * HvCallSignalEvent.
 */
import { GuestPage, HvCallCode, HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import { VmbusPlace } from '../places.js';
import { monitorTrigger } from '../wire/monitor-page.js';
import type { GuestOffer, VmbusClientOptions } from './client-types.js';
import { VmbusGuestError } from './vmbus-guest-error.js';

/** The monitor pages as INITIATE_CONTACT names them, and as the guest itself reaches them. */
export interface MonitorPageGpas {
  readonly sent: readonly [bigint, bigint];
  readonly access: readonly [bigint, bigint];
}

/**
 * The monitor page GPAs for INITIATE_CONTACT. Isolation VM (Linux `vmbus_connect`): make both
 * pages host-visible, zero them through the alias (the conversion scrambled them) and pass the
 * aliases — or, with `forgetBoundary.monitorPages`, the private GPAs (the bug).
 */
export function shareMonitorPages(o: VmbusClientOptions): MonitorPageGpas {
  const iso = o.isolation;
  if (iso === undefined) return { sent: o.monitorPages, access: o.monitorPages };
  const pfns = o.monitorPages.map((gpa) => GuestPage.number(gpa)) as [bigint, bigint];
  const shared = iso.sharing.shareMonitorPages(o.hypercalls, pfns);
  if (!shared.ok) {
    throw new VmbusGuestError(
      `${VmbusPlace.MONITOR_PAGE}: HvCallModifySparseGpaPageHostVisibility failed with ${shared.statusName}`,
    );
  }
  const access = [shared.monitorPage1, shared.monitorPage2] as const;
  return { sent: iso.forgetBoundary?.monitorPages === true ? o.monitorPages : access, access };
}

/**
 * How the guest reaches monitor pages shared before (a resumed connection): through their
 * aliases in an isolation VM, host-visible since `connect`.
 */
export function sharedMonitorPageAccess(o: VmbusClientOptions): readonly [bigint, bigint] {
  const iso = o.isolation;
  if (iso === undefined) return o.monitorPages;
  const [p1, p2] = iso.sharing.aliasPageGpas(o.monitorPages.map((gpa) => GuestPage.number(gpa)));
  return [p1!, p2!];
}

/**
 * Spec 04 rule 12 (`vmbus_setevent`): a monitored, not low-latency channel sets its bit in the
 * child→parent monitor page (reached at `monitorAccess[1]`); any other issues HvCallSignalEvent
 * (fast, RDX = connection id).
 */
export function signalHost(
  o: VmbusClientOptions,
  monitorAccess: readonly [bigint, bigint],
  offer: GuestOffer,
  lowLatency: boolean,
): HvStatusCode {
  if (offer.monitorAllocated && !lowLatency) {
    const t = monitorTrigger(offer.monitorId);
    const gpa = monitorAccess[1] + BigInt(t.pending);
    const iso = o.isolation;
    const view = iso?.sharing.memory;
    const word =
      view === undefined
        ? new Int32Array(o.memory.buffer, o.memory.offsetOf(gpa, 4), 1)
        : new Int32Array(view.ram.buffer, view.offsetOf(gpa, 4, 'write', VmbusPlace.MONITOR_PAGE), 1);
    Atomics.or(word, 0, 1 << t.bit);
    return HvStatus.SUCCESS;
  }
  return o.hypercalls.fast8(HvCallCode.HvCallSignalEvent, BigInt(offer.connectionId >>> 0)).status;
}
