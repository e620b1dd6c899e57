/** The guest VMBus driver's types: offers, options (isolation VMs too), a connection to resume. */
import type { GuestMemory } from '@pvlab/hypercall';
import type { GuestCpu, GuestHypercalls, GuestMemorySharing } from '@pvlab/hypercall/guest';
import type { GuestSynic } from './synic.js';

/** An offer as the guest keeps it. */
export interface GuestOffer {
  readonly relid: number;
  readonly interfaceType: Uint8Array;
  readonly interfaceInstance: Uint8Array;
  readonly connectionId: number;
  readonly monitorId: number;
  readonly monitorAllocated: boolean;
  readonly dedicatedInterrupt: boolean;
}

/** What the driver does differently in an isolation VM (spec 05 "Where Linux applies the boundary"). */
export interface VmbusIsolationOptions {
  /**
   * How this guest shares memory with the host: its boundary (vTOM), its view of memory with the
   * boundary and the visibility calls — `guestMemorySharing(boundary, view)` from
   * `@pvlab/isolation/guest`, which the app composing both packages hands over.
   */
  readonly sharing: GuestMemorySharing;
  /**
   * Reproduces "forgot the boundary" per place: `monitorPages` sends the private GPAs in
   * INITIATE_CONTACT (the host refuses the contact), `rings` maps the rings below the boundary
   * (the guest's view faults, naming the ring buffer).
   */
  readonly forgetBoundary?: { readonly monitorPages?: boolean; readonly rings?: boolean };
}

/** What the driver runs with. */
export interface VmbusClientOptions {
  readonly cpu: GuestCpu;
  readonly memory: GuestMemory;
  readonly hypercalls: GuestHypercalls;
  readonly synic: GuestSynic;
  /** GPAs of the two monitor pages (parent→child, child→parent), zeroed by the caller. */
  readonly monitorPages: readonly [bigint, bigint];
  /** The VP the host sends messages to (default 0). */
  readonly targetVcpu?: number;
  /** Called when an awaited message has not arrived (e.g. halt until an interrupt). */
  readonly wait?: () => void;
  readonly maxWaits?: number;
  /** How often PostMessage is retried on INSUFFICIENT_BUFFERS (Linux: with a sleep between). */
  readonly postRetries?: number;
  /**
   * An isolation VM: `monitorPages` and the ring pages are made host-visible (0x00DB, ≤ 510 per
   * call), zeroed again through the alias, and reached only through it; INITIATE_CONTACT carries
   * the monitor pages' aliases, GPADLs plain PFNs.
   */
  readonly isolation?: VmbusIsolationOptions;
}

/** What `VmbusClient.connectionState` gives and `resume` takes (JSON-safe numbers). */
export interface VmbusConnectionState {
  /** The negotiated version (major << 16 | minor). */
  readonly version: number;
  /** The connection id channel messages go to. */
  readonly msgConnId: number;
  /** The GPADL id and OPENCHANNEL open id the driver hands out next. */
  readonly nextGpadl: number;
  readonly nextOpenId: number;
}
