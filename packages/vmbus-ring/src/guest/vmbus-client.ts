/**
 * The guest's VMBus driver, the Linux flow (drivers/hv/connection.c `vmbus_connect`,
 * channel_mgmt.c, channel.c `vmbus_establish_gpadl`/`vmbus_open`/`vmbus_close`/
 * `vmbus_teardown_gpadl`): channel messages go out with HvCallPostMessage and come back in the
 * SIMP slot of SINT 2. In the direct harness the host has answered by the time the hypercall
 * returns, so polling the slot is enough; with `wait` set (e.g. `() => cpu.halt()`), an empty
 * slot waits for the next interrupt instead, up to `maxWaits` times.
 *
 * This module is the driver's public face, its offers and its resumable state; the work lives
 * beside it: `client-messages` (the message link), `client-contact` (version negotiation),
 * `client-monitor` (monitor pages, signalling the host), `client-channels` (GPADLs, OPENCHANNEL)
 * and `ring-memories` (the rings over the GPADL's pages).
 */
import type { GuestMemory, HvStatusCode } from '@pvlab/hypercall';
import { initRingControl } from '../ring/control.js';
import { RingReader } from '../ring/ring-reader.js';
import { RingWriter } from '../ring/ring-writer.js';
import {
  ChannelMessageHeader,
  ChannelMessageType,
  ChannelRelidMessage,
  channelMessageType,
  OFFER_DEDICATED_INTERRUPT,
  OFFER_MONITOR_ALLOCATED,
  OfferChannel,
} from '../wire/channel-messages.js';
import { LINUX_VMBUS_VERSIONS, VMBUS_MESSAGE_CONNECTION_ID, VMBUS_MESSAGE_SINT } from '../wire/versions.js';
import { GuestChannel } from './channel.js';
import {
  establishGpadl,
  releaseRingPages,
  requestOpen,
  ringVisibilityRefused,
  teardownGpadl,
} from './client-channels.js';
import { negotiateVersion } from './client-contact.js';
import { ChannelMessages } from './client-messages.js';
import { sharedMonitorPageAccess, shareMonitorPages, signalHost } from './client-monitor.js';
import type { GuestOffer, VmbusClientOptions, VmbusConnectionState } from './client-types.js';
import { type ChannelRingMemories, channelRingMemories } from './ring-memories.js';

/** A channel's ring pages: the GPADL's PFNs, the first `outboundPages` the guest→host ring. */
type RingPages = { pfns: readonly bigint[]; outboundPages: number };

/** The guest's VMBus connection. */
export class VmbusClient {
  readonly #o: VmbusClientOptions;
  readonly #messages: ChannelMessages;
  /** The negotiated version, once connected. */
  version: number | null = null;
  /** The connection id further messages go to. */
  msgConnId = VMBUS_MESSAGE_CONNECTION_ID;
  readonly offers = new Map<number, GuestOffer>();
  /** Messages that arrived while waiting for another (e.g. RESCIND_CHANNELOFFER), oldest first. */
  readonly unsolicited: Uint8Array[];
  readonly channels = new Map<number, GuestChannel>();
  #nextGpadl = 0xe1e10;
  #nextOpenId = 1;
  /** The GPAs through which the guest itself reaches the monitor pages (their aliases when isolated). */
  #monitorAccess: readonly [bigint, bigint];

  constructor(options: VmbusClientOptions) {
    this.#o = options;
    this.#messages = new ChannelMessages(options, () => this.msgConnId);
    this.unsolicited = this.#messages.unsolicited;
    this.#monitorAccess = options.monitorPages;
  }

  get memory(): GuestMemory {
    return this.#o.memory;
  }

  /** HvCallPostMessage of a channel message to `connectionId`, retried on INSUFFICIENT_BUFFERS. */
  postMessage(bytes: Uint8Array, connectionId = this.msgConnId): HvStatusCode {
    return this.#messages.post(bytes, connectionId);
  }

  /** The next message of type `type` (others are kept in `unsolicited`); throws when none comes. */
  awaitMessage(type: number): Uint8Array {
    return this.#messages.awaitMessage(type);
  }

  /** The next message of any type; throws when none comes. */
  awaitAny(): Uint8Array {
    return this.#messages.awaitAny();
  }

  /**
   * `vmbus_connect`: INITIATE_CONTACT with each version of `versions` in turn (newest first) until
   * the host accepts one; from 5.0 on the message SINT goes in the request and the host's
   * msg_conn_id is used afterwards. Returns the version; throws when every version is refused.
   * In an isolation VM the monitor pages are shared with the host first.
   */
  connect(versions: readonly number[] = LINUX_VMBUS_VERSIONS): number {
    const pages = shareMonitorPages(this.#o);
    this.#monitorAccess = pages.access;
    const accepted = negotiateVersion(this.#messages, versions, pages.sent, this.#o.targetVcpu ?? 0);
    this.version = accepted.version;
    if (accepted.msgConnId !== null) this.msgConnId = accepted.msgConnId;
    return accepted.version;
  }

  /** REQUESTOFFERS, then every OFFERCHANNEL up to ALLOFFERS_DELIVERED. */
  requestOffers(): GuestOffer[] {
    this.#messages.send(ChannelMessageHeader.encode({ msgtype: ChannelMessageType.REQUESTOFFERS }));
    const out: GuestOffer[] = [];
    const kinds = [ChannelMessageType.OFFERCHANNEL, ChannelMessageType.ALLOFFERS_DELIVERED];
    for (;;) {
      const m = this.#messages.awaitOneOf(kinds);
      if (channelMessageType(m) === ChannelMessageType.ALLOFFERS_DELIVERED) return out;
      const offer = this.recordOffer(m);
      if (offer) out.push(offer);
    }
  }

  /** Keeps an OFFERCHANNEL (also for offers that arrive later); `null` when it is not one. */
  recordOffer(bytes: Uint8Array): GuestOffer | null {
    const o = OfferChannel.decode(bytes);
    if (o === null) return null;
    const offer: GuestOffer = {
      relid: o.childRelid,
      interfaceType: o.interfaceType,
      interfaceInstance: o.interfaceInstance,
      connectionId: o.connectionId,
      monitorId: o.monitorId,
      monitorAllocated: (o.monitorFlags & OFFER_MONITOR_ALLOCATED) !== 0,
      dedicatedInterrupt: (o.interruptFlags & OFFER_DEDICATED_INTERRUPT) !== 0,
    };
    this.offers.set(offer.relid, offer);
    return offer;
  }

  /**
   * `vmbus_establish_gpadl`: GPADL_HEADER (≤ 26 PFNs) and GPADL_BODY messages (≤ 28 each), then
   * waits for GPADL_CREATED; returns the GPADL id, or throws with the creation status.
   */
  establishGpadl(relid: number, pfns: readonly bigint[]): number {
    const gpadl = this.#nextGpadl++;
    establishGpadl(this.#messages, relid, gpadl, pfns);
    return gpadl;
  }

  /**
   * `vmbus_open`: zeroes and initialises both rings (feat_pending_send_sz), establishes one GPADL
   * over `[outbound control, outbound data…, inbound control, inbound data…]`, sends OPENCHANNEL
   * and waits for OPENCHANNEL_RESULT. `outboundPages` counts the guest→host ring's pages with its
   * control page (the downstream offset).
   */
  openChannel(
    relid: number,
    rings: RingPages,
    options: { targetVp?: number; userData?: Uint8Array; lowLatency?: boolean } = {},
  ): GuestChannel {
    const offer = this.offers.get(relid);
    if (offer === undefined)
      throw new RangeError(
        `relid ${relid} was not offered: use one of ${[...this.offers.keys()].join(', ')}`,
      );
    const memories = this.#ringMemories(rings, true);
    initRingControl(memories.outbound);
    initRingControl(memories.inbound);
    const gpadl = this.establishGpadl(relid, rings.pfns);
    const openId = this.#nextOpenId++;
    requestOpen(this.#messages, {
      relid,
      openId,
      gpadl,
      outboundPages: rings.outboundPages,
      targetVp: options.targetVp,
      userData: options.userData,
    });
    return this.#channel(offer, gpadl, rings.pfns, memories, options.lowLatency ?? false);
  }

  /**
   * What the driver keeps of its connection to take it over later with `resume` (Linux keeps it
   * in `vmbus_connection`; a guest resumed from a snapshot finds it in its memory). `null` before
   * `connect`.
   */
  get connectionState(): VmbusConnectionState | null {
    if (this.version === null) return null;
    return {
      version: this.version,
      msgConnId: this.msgConnId,
      nextGpadl: this.#nextGpadl,
      nextOpenId: this.#nextOpenId,
    };
  }

  /**
   * Takes over a connection made before (e.g. by the guest a restored snapshot was taken of):
   * no INITIATE_CONTACT, which the host refuses while it is connected. In an isolation VM the
   * monitor pages are reached through their aliases, host-visible since `connect`.
   */
  resume(state: VmbusConnectionState): void {
    this.version = state.version;
    this.msgConnId = state.msgConnId;
    this.#nextGpadl = state.nextGpadl;
    this.#nextOpenId = state.nextOpenId;
    this.#monitorAccess = sharedMonitorPageAccess(this.#o);
  }

  /**
   * A channel that is still open on the host (after `resume`): its offer, GPADL and ring pages as
   * `openChannel` had them, the rings taken as they are — no GPADL, no OPENCHANNEL, nothing
   * zeroed or made visible again.
   */
  reattachChannel(
    offer: GuestOffer,
    gpadl: number,
    rings: RingPages,
    options: { lowLatency?: boolean } = {},
  ): GuestChannel {
    this.offers.set(offer.relid, offer);
    return this.#channel(
      offer,
      gpadl,
      rings.pfns,
      this.#ringMemories(rings, false),
      options.lowLatency ?? false,
    );
  }

  #channel(
    offer: GuestOffer,
    gpadl: number,
    ringPfns: readonly bigint[],
    memories: ChannelRingMemories,
    lowLatency: boolean,
  ): GuestChannel {
    const channel = new GuestChannel({
      offer,
      gpadl,
      writer: new RingWriter(memories.outbound),
      reader: new RingReader(memories.inbound),
      signalHost: () => this.signalHost(offer, lowLatency),
      ringPfns,
      ...(memories.mappings === null ? {} : { mappings: memories.mappings }),
    });
    this.channels.set(offer.relid, channel);
    return channel;
  }

  /** The rings over the GPADL's pages (see `channelRingMemories`); `fresh` zeroes them first. */
  #ringMemories(rings: RingPages, fresh: boolean): ChannelRingMemories {
    return channelRingMemories(this.#o, rings.pfns, rings.outboundPages, fresh, ringVisibilityRefused);
  }

  /**
   * Spec 04 rule 12 (`vmbus_setevent`): a monitored, not low-latency channel sets its bit in the
   * child→parent monitor page; any other issues HvCallSignalEvent (fast, RDX = connection id).
   */
  signalHost(offer: GuestOffer, lowLatency: boolean): HvStatusCode {
    return signalHost(this.#o, this.#monitorAccess, offer, lowLatency);
  }

  /** `vmbus_close`: CLOSECHANNEL (no answer), then the ring GPADL's teardown. */
  closeChannel(channel: GuestChannel, teardown = true): void {
    this.#messages.send(
      ChannelRelidMessage.encode({ msgtype: ChannelMessageType.CLOSECHANNEL, childRelid: channel.relid }),
    );
    this.channels.delete(channel.relid);
    if (!teardown) return;
    this.teardownGpadl(channel.relid, channel.gpadl);
    releaseRingPages(this.#o.hypercalls, this.#o.isolation, channel.ringPfns);
  }

  /** `vmbus_teardown_gpadl`: GPADL_TEARDOWN, then waits for GPADL_TORNDOWN. */
  teardownGpadl(relid: number, gpadl: number): void {
    teardownGpadl(this.#messages, relid, gpadl);
  }

  /**
   * Handles the rescinds that have arrived (`vmbus_onoffer_rescind`): drops the offer and its
   * channel and answers RELID_RELEASED. Returns the rescinded relids.
   */
  handleRescinds(): number[] {
    this.#messages.drain();
    const out: number[] = [];
    for (let i = 0; i < this.unsolicited.length; ) {
      const m = this.unsolicited[i]!;
      if (channelMessageType(m) !== ChannelMessageType.RESCIND_CHANNELOFFER) {
        i++;
        continue;
      }
      this.unsolicited.splice(i, 1);
      const r = ChannelRelidMessage.decode(m);
      if (r === null) continue;
      this.offers.delete(r.childRelid);
      this.channels.delete(r.childRelid);
      this.#messages.send(
        ChannelRelidMessage.encode({ msgtype: ChannelMessageType.RELID_RELEASED, childRelid: r.childRelid }),
      );
      out.push(r.childRelid);
    }
    return out;
  }

  /** UNLOAD, then waits for UNLOAD_RESPONSE; the connection is gone afterwards. */
  unload(): void {
    this.#messages.send(ChannelMessageHeader.encode({ msgtype: ChannelMessageType.UNLOAD }));
    this.awaitMessage(ChannelMessageType.UNLOAD_RESPONSE);
    this.version = null;
    this.msgConnId = VMBUS_MESSAGE_CONNECTION_ID;
    this.channels.clear();
    this.offers.clear();
  }

  /** The channels whose event flag (child_relid in SINT 2's flags) was set, flags cleared. */
  takeChannelEvents(): GuestChannel[] {
    const out: GuestChannel[] = [];
    for (const relid of this.#o.synic.takeEventFlags(VMBUS_MESSAGE_SINT)) {
      const ch = this.channels.get(relid);
      if (ch) out.push(ch);
    }
    return out;
  }
}
