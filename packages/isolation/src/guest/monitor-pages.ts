import type { GuestPhysicalMemory } from '@pvlab/hypercall';
import type { GuestHypercalls } from '@pvlab/hypercall/guest';
import { PageListView } from '../page-list-view.js';
import { HostVisibility } from '../wire/visibility.js';
import { aliasPageGpas, type SharedMappingOptions, SharedPlace } from './places.js';
import { setHostVisibility, type VisibilityChangeResult } from './visibility.js';

/** What INITIATE_CONTACT carries, and the guest's views of the two pages. */
export interface SharedMonitorPages {
  /** monitor_page1 for INITIATE_CONTACT: the page's physical address + shared_gpa_boundary. */
  readonly monitorPage1: bigint;
  /** monitor_page2, likewise. */
  readonly monitorPage2: bigint;
  /** The guest's mappings of the two pages (through the alias). */
  readonly pages: readonly [PageListView, PageListView];
}

/** Options of `shareMonitorPages`. */
export interface MonitorPageOptions extends SharedMappingOptions {
  /**
   * Zero the pages after the conversion, as Linux does because the call may scramble them
   * (default `true`). `false` reproduces a guest that forgets to re-initialise.
   */
  readonly zeroAfterConversion?: boolean;
}

/**
 * The VMBus monitor pages in an isolation VM (spec 05 "Where Linux applies the boundary", Linux
 * `vmbus_connect`): make both pages host-visible (visibility 3), zero them through the alias, and
 * return the GPAs for INITIATE_CONTACT with the boundary added. A failed hypercall is returned
 * as is (Linux then fails the connection and leaks the pages).
 */
export function shareMonitorPages(
  hc: GuestHypercalls,
  memory: GuestPhysicalMemory,
  boundary: bigint,
  monitorPfns: readonly [bigint, bigint],
  options: MonitorPageOptions = {},
): ({ readonly ok: true } & SharedMonitorPages) | Extract<VisibilityChangeResult, { ok: false }> {
  const changed = setHostVisibility(hc, monitorPfns, HostVisibility.READ_WRITE);
  if (!changed.ok) return changed;
  const [gpa1, gpa2] = aliasPageGpas(monitorPfns, boundary, options.forgetBoundary) as [bigint, bigint];
  const pages: [PageListView, PageListView] = [
    new PageListView(memory, [gpa1], SharedPlace.MONITOR_PAGE),
    new PageListView(memory, [gpa2], SharedPlace.MONITOR_PAGE),
  ];
  if (options.zeroAfterConversion ?? true) for (const page of pages) page.zero();
  return { ok: true, monitorPage1: gpa1, monitorPage2: gpa2, pages };
}
