/**
 * The guest side of an isolation VM (spec 05) as a device driver needs it: the guest's memory
 * with the shared GPA boundary, and the calls that share pages with the host. Declared in the
 * core so that a driver package (`@pvlab/vmbus-ring/guest`) consumes it without depending on the
 * package that provides it (`@pvlab/isolation/guest`, `guestMemorySharing`); the apps hand one to
 * the other. The guest's twin of the host's `HOST_MEMORY` port.
 */
import type { GuestMemory, GuestPhysicalMemory } from '../memory.js';
import type { HvStatusCode } from '../wire/status.js';
import type { GuestHypercalls } from './hypercalls.js';

/**
 * The guest's memory in an isolation VM (spec 05 rule 3): private GPAs below the boundary,
 * host-visible pages only through their shared alias `gpa | boundary`; the wrong alias faults,
 * naming `place`. `IsolatedGuestMemory` (`@pvlab/isolation/host`) is one.
 */
export interface GuestBoundaryView extends GuestPhysicalMemory {
  /** The RAM behind both aliases (bytes are reached through it after the alias checks). */
  readonly ram: GuestMemory;
  /** The RAM offset of `[gpa, gpa + length)` after the alias checks; throws a fault naming `place`. */
  offsetOf(gpa: bigint, length: number, access?: 'read' | 'write', place?: string): number;
}

/**
 * How a change of host visibility went (HvCallModifySparseGpaPageHostVisibility, in batches):
 * every batch succeeded, or the status of the first that failed.
 */
export type HostVisibilityChange =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: HvStatusCode; readonly statusName: string };

/**
 * A ring as Linux 5.16–6.2 maps it in an isolation VM (`hv_ringbuffer_init`): one view over
 * [header, data…, data…] through the aliases, so a packet that wraps reads on into the second
 * copy; every access runs the isolation checks.
 */
export interface DoubleMappedRingView {
  /** The GPA of each page of the view, in view order. */
  readonly pageGpas: readonly bigint[];
  /** The guest object the view is (named in faults). */
  readonly place: string;
  /** Bytes of the data area; the view is 4096 + 2 × dataSize bytes. */
  readonly dataSize: number;
  /** Zeroes `length` bytes at view offset `offset` (default: the whole view). */
  zero(offset?: number, length?: number): void;
  /** Reads `length` bytes of the data area at ring offset `offset` (may run into the second copy). */
  readData(offset: number, length: number): Uint8Array;
  /** Writes `data` into the data area at ring offset `offset` (may run into the second copy). */
  writeData(offset: number, data: Uint8Array): void;
}

/**
 * How a guest shares memory with the host in an isolation VM (spec 05 "Where Linux applies the
 * boundary"). Each call that changes visibility issues the hypercalls through `hc`, the calling
 * CPU's hypercall pages, and returns a failed call as is.
 */
export interface GuestMemorySharing {
  /** vTOM: GPA `g | boundary` is the shared alias of private GPA `g`. */
  readonly boundary: bigint;
  /** The guest's view of memory with the boundary. */
  readonly memory: GuestBoundaryView;
  /** Makes `pfns` host-visible, read-write (Linux `set_memory_decrypted`). */
  makeHostVisible(hc: GuestHypercalls, pfns: readonly bigint[]): HostVisibilityChange;
  /** Makes `pfns` private again (Linux `set_memory_encrypted`). */
  makePrivate(hc: GuestHypercalls, pfns: readonly bigint[]): HostVisibilityChange;
  /** The GPAs through which the guest reaches shared pages `pfns`: their aliases. */
  aliasPageGpas(pfns: readonly bigint[]): bigint[];
  /**
   * The VMBus monitor pages (Linux `vmbus_connect`): both made host-visible and zeroed through
   * the alias (the conversion scrambles them); the GPAs INITIATE_CONTACT carries are the aliases.
   */
  shareMonitorPages(
    hc: GuestHypercalls,
    pfns: readonly [bigint, bigint],
  ):
    | { readonly ok: true; readonly monitorPage1: bigint; readonly monitorPage2: bigint }
    | Extract<HostVisibilityChange, { ok: false }>;
  /**
   * The double mapping of a ring whose first PFN is its header page (visibility unchanged);
   * `forgetBoundary` maps the private GPAs instead, the bug the guest's view must catch.
   */
  mapRing(pfns: readonly bigint[], options?: { readonly forgetBoundary?: boolean }): DoubleMappedRingView;
}
