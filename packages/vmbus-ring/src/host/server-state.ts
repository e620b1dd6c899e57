/**
 * The VMBus server's state as the host and the snapshot part see it: the negotiated connection,
 * the offered channels (and what OPENCHANNEL set up for open ones), the GPADLs, the counters, and
 * the server's options and defaults.
 */

import { VmbusVersion } from '../wire/versions.js';
import type { HostChannel, VmbusDevice } from './device.js';

/** Versions the server accepts by default: WIN8 (event flags per channel) up to 5.3, Linux's newest. */
export const VMBUS_SERVER_VERSIONS: readonly number[] = [
  VmbusVersion.WIN8,
  VmbusVersion.WIN8_1,
  VmbusVersion.WIN10,
  VmbusVersion.WIN10_RS3,
  VmbusVersion.WIN10_V5,
  VmbusVersion.WIN10_V5_1,
  VmbusVersion.WIN10_V5_2,
  VmbusVersion.WIN10_V5_3,
];

/** A channel's connection id for HvCallSignalEvent: this base plus its child_relid. */
export const VMBUS_CHANNEL_CONNECTION_BASE = 0x1_0000;
/** Default bound of undelivered host→guest messages before PostMessage answers INSUFFICIENT_BUFFERS. */
export const VMBUS_DEFAULT_MESSAGE_QUEUE_DEPTH = 32;

/** The negotiated connection. */
export interface VmbusConnection {
  readonly version: number;
  readonly targetVcpu: number;
  /** The SINT messages go to (msg_sint from 5.0 on, else 2). */
  readonly messageSint: number;
  /** [parent→child, child→parent] monitor page GPAs. */
  readonly monitorPages: readonly [bigint, bigint];
}

/** A channel's life: offered (maybe opened and closed again), open, or rescinded until RELID_RELEASED. */
export type ChannelState = 'offered' | 'open' | 'rescinded';

/** What OPENCHANNEL set up for an open channel. */
export interface OpenChannelInfo {
  readonly openId: number;
  /** The ring GPADL. */
  readonly gpadl: number;
  /** Pages of the guest→host ring (its control page included) at the GPADL's start. */
  readonly downstreamRingPageOffset: number;
  readonly host: HostChannel;
}

/** One offered channel. */
export class ServerChannel {
  state: ChannelState = 'offered';
  open: OpenChannelInfo | null = null;
  constructor(
    readonly relid: number,
    readonly device: VmbusDevice,
    readonly connectionId: number,
    readonly monitorId: number | null,
  ) {}
}

/** A GPADL being assembled or created. */
export interface ServerGpadl {
  readonly id: number;
  readonly relid: number;
  readonly rangeCount: number;
  /** The range buffer (rangeBufLen bytes) and how much of it has arrived. */
  readonly buffer: Uint8Array;
  received: number;
  /** Set once created: every range's PFNs in order. */
  ranges: { byteCount: number; byteOffset: number; pfns: bigint[] }[] | null;
}

/** Options of the server. */
export interface VmbusServerOptions {
  readonly devices: readonly VmbusDevice[];
  /** Versions accepted in INITIATE_CONTACT (default `VMBUS_SERVER_VERSIONS`). */
  readonly versions?: readonly number[];
  readonly messageQueueDepth?: number;
}

/** Everything `restoreState` replaces (checked by the snapshot part before it is applied). */
export interface VmbusServerState {
  readonly connection: VmbusConnection | null;
  readonly channels: readonly ServerChannel[];
  readonly gpadls: readonly ServerGpadl[];
  readonly nextRelid: number;
  readonly nextMonitorId: number;
  readonly counters: VmbusServerCounters;
}

/** The server's counters. */
export interface VmbusServerCounters {
  messagesIn: number;
  messagesOut: number;
  ignored: number;
  refusedBusy: number;
  signals: number;
}
