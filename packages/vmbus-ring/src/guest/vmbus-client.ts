/**
 * The guest's VMBus driver, the Linux flow (drivers/hv/connection.c `vmbus_connect`,
 * channel_mgmt.c, channel.c `vmbus_establish_gpadl`/`vmbus_open`/`vmbus_close`/
 * `vmbus_teardown_gpadl`): channel messages go out with HvCallPostMessage and come back in the
 * SIMP slot of SINT 2. In the direct harness the host has answered by the time the hypercall
 * returns, so polling the slot is enough; with `wait` set (e.g. `() => cpu.halt()`), an empty
 * slot waits for the next interrupt instead, up to `maxWaits` times.
 */
import { type GuestMemory, GuestPage, HvCallCode, HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import { HostVisibility } from '@pvlab/isolation';
import { aliasPageGpas, SharedPlace, setHostVisibility, shareMonitorPages } from '@pvlab/isolation/guest';
import { initRingControl } from '../ring/control.js';
import { RingReader } from '../ring/ring-reader.js';
import { RingWriter } from '../ring/ring-writer.js';
import {
  ChannelMessageHeader,
  ChannelMessageType,
  ChannelRelidMessage,
  channelMessageType,
  channelMessageTypeName,
  encodeGpadlMessages,
  GpadlCreated,
  GpadlTeardown,
  GpadlTorndown,
  InitiateContact,
  OFFER_DEDICATED_INTERRUPT,
  OFFER_MONITOR_ALLOCATED,
  OfferChannel,
  OpenChannel,
  OpenChannelResult,
  VersionResponse,
  VMBUS_STATUS_SUCCESS,
} from '../wire/channel-messages.js';
import { monitorTrigger } from '../wire/monitor-page.js';
import { PostMessageInput } from '../wire/synic.js';
import {
  initiateContactConnectionId,
  LINUX_VMBUS_VERSIONS,
  VMBUS_HV_MESSAGE_TYPE,
  VMBUS_MESSAGE_CONNECTION_ID,
  VMBUS_MESSAGE_SINT,
  VmbusVersion,
} from '../wire/versions.js';
import { GuestChannel } from './channel.js';
import type { GuestOffer, VmbusClientOptions, VmbusConnectionState } from './client-types.js';
import { type ChannelRingMemories, channelRingMemories } from './ring-memories.js';

export type {
  GuestBoundaryView,
  GuestOffer,
  VmbusClientOptions,
  VmbusConnectionState,
  VmbusIsolationOptions,
} from './client-types.js';

/** A guest-side failure: what the host answered, or that it did not. */
export class VmbusGuestError extends Error {
  override readonly name = 'VmbusGuestError';
}

/** The guest's VMBus connection. */
export class VmbusClient {
  readonly #o: VmbusClientOptions;
  /** The negotiated version, once connected. */
  version: number | null = null;
  /** The connection id further messages go to. */
  msgConnId = VMBUS_MESSAGE_CONNECTION_ID;
  readonly offers = new Map<number, GuestOffer>();
  /** Messages that arrived while waiting for another (e.g. RESCIND_CHANNELOFFER), oldest first. */
  readonly unsolicited: Uint8Array[] = [];
  readonly channels = new Map<number, GuestChannel>();
  #nextGpadl = 0xe1e10;
  #nextOpenId = 1;
  /** The GPAs through which the guest itself reaches the monitor pages (their aliases when isolated). */
  #monitorAccess: readonly [bigint, bigint];

  constructor(options: VmbusClientOptions) {
    this.#o = options;
    this.#monitorAccess = options.monitorPages;
    const iso = options.isolation;
    if (iso !== undefined && (typeof iso.boundary !== 'bigint' || iso.boundary <= 0n)) {
      throw new RangeError(
        `isolation boundary ${String(iso.boundary)} is not accepted: use the shared GPA boundary (a bigint > 0)`,
      );
    }
  }

  get memory(): GuestMemory {
    return this.#o.memory;
  }

  /** HvCallPostMessage of a channel message to `connectionId`, retried on INSUFFICIENT_BUFFERS. */
  postMessage(bytes: Uint8Array, connectionId = this.msgConnId): HvStatusCode {
    const input = PostMessageInput.encode({
      connectionId,
      messageType: VMBUS_HV_MESSAGE_TYPE,
      payloadSize: bytes.length,
      payload: bytes,
    });
    const retries = this.#o.postRetries ?? 10;
    for (let attempt = 0; ; attempt++) {
      this.#o.hypercalls.writeInput(input);
      const status = this.#o.hypercalls.call(BigInt(HvCallCode.HvCallPostMessage)).status;
      if (status !== HvStatus.INSUFFICIENT_BUFFERS || attempt >= retries) return status;
      // The host's queue toward us is full: take what is waiting, then retry.
      this.#drainToUnsolicited();
    }
  }

  #drainToUnsolicited(): void {
    for (let m = this.#take(); m !== null; m = this.#take()) this.unsolicited.push(m);
  }

  #take(): Uint8Array | null {
    const m = this.#o.synic.pollMessage(this.#sint());
    return m === null ? null : m.payload;
  }

  #sint(): number {
    return this.#o.synic.sint;
  }

  /** The next message of type `type` (others are kept in `unsolicited`); throws when none comes. */
  awaitMessage(type: number): Uint8Array {
    const i = this.unsolicited.findIndex((m) => channelMessageType(m) === type);
    if (i >= 0) return this.unsolicited.splice(i, 1)[0]!;
    const maxWaits = this.#o.wait === undefined ? 0 : (this.#o.maxWaits ?? 1000);
    for (let waits = 0; ; ) {
      const m = this.#take();
      if (m !== null) {
        if (channelMessageType(m) === type) return m;
        this.unsolicited.push(m);
        continue;
      }
      if (waits++ >= maxWaits) {
        throw new VmbusGuestError(`no ${channelMessageTypeName(type)} from the host`);
      }
      this.#o.wait?.();
    }
  }

  /**
   * `vmbus_connect`: INITIATE_CONTACT with each version of `versions` in turn (newest first) until
   * the host accepts one; from 5.0 on the message SINT goes in the request and the host's
   * msg_conn_id is used afterwards. Returns the version; throws when every version is refused.
   */
  connect(versions: readonly number[] = LINUX_VMBUS_VERSIONS): number {
    const [p1, p2] = this.#shareMonitorPages();
    for (const version of versions) {
      const modern = version >= VmbusVersion.WIN10_V5;
      const msg = InitiateContact.encode({
        msgtype: ChannelMessageType.INITIATE_CONTACT,
        version,
        targetVcpu: this.#o.targetVcpu ?? 0,
        monitorPage1: p1,
        monitorPage2: p2,
        ...(modern ? { msgSint: VMBUS_MESSAGE_SINT } : {}),
      });
      const status = this.postMessage(msg, initiateContactConnectionId(version));
      if (status !== HvStatus.SUCCESS)
        throw new VmbusGuestError(`INITIATE_CONTACT: HvCallPostMessage status 0x${status.toString(16)}`);
      const r = VersionResponse.decode(this.awaitMessage(ChannelMessageType.VERSION_RESPONSE));
      if (r !== null && r.versionSupported !== 0) {
        this.version = version;
        if (modern) this.msgConnId = r.msgConnId;
        return version;
      }
    }
    throw new VmbusGuestError(
      `the host refused every version of ${versions.map((v) => `0x${v.toString(16)}`).join(', ')}`,
    );
  }

  /**
   * The monitor page GPAs INITIATE_CONTACT carries. Isolation VM (Linux `vmbus_connect`): make
   * both pages host-visible, zero them through the alias (the conversion scrambled them) and
   * pass the aliases — or, with `forgetBoundary.monitorPages`, the private GPAs (the bug).
   */
  #shareMonitorPages(): readonly [bigint, bigint] {
    const iso = this.#o.isolation;
    if (iso === undefined) return this.#o.monitorPages;
    const pfns = this.#o.monitorPages.map((gpa) => GuestPage.number(gpa)) as [bigint, bigint];
    const shared = shareMonitorPages(this.#o.hypercalls, iso.memory, iso.boundary, pfns);
    if (!shared.ok) {
      throw new VmbusGuestError(
        `${SharedPlace.MONITOR_PAGE}: HvCallModifySparseGpaPageHostVisibility failed with ${shared.statusName}`,
      );
    }
    this.#monitorAccess = [shared.monitorPage1, shared.monitorPage2];
    return iso.forgetBoundary?.monitorPages === true ? this.#o.monitorPages : this.#monitorAccess;
  }

  /** REQUESTOFFERS, then every OFFERCHANNEL up to ALLOFFERS_DELIVERED. */
  requestOffers(): GuestOffer[] {
    this.#post(ChannelMessageHeader.encode({ msgtype: ChannelMessageType.REQUESTOFFERS }));
    const out: GuestOffer[] = [];
    for (;;) {
      const i = this.unsolicited.findIndex((m) => {
        const t = channelMessageType(m);
        return t === ChannelMessageType.OFFERCHANNEL || t === ChannelMessageType.ALLOFFERS_DELIVERED;
      });
      const m = i >= 0 ? this.unsolicited.splice(i, 1)[0]! : this.#nextOfferMessage();
      if (channelMessageType(m) === ChannelMessageType.ALLOFFERS_DELIVERED) return out;
      const offer = this.recordOffer(m);
      if (offer) out.push(offer);
    }
  }

  #nextOfferMessage(): Uint8Array {
    for (;;) {
      const m = this.awaitAny();
      const t = channelMessageType(m);
      if (t === ChannelMessageType.OFFERCHANNEL || t === ChannelMessageType.ALLOFFERS_DELIVERED) return m;
      this.unsolicited.push(m);
    }
  }

  /** The next message of any type; throws when none comes. */
  awaitAny(): Uint8Array {
    const maxWaits = this.#o.wait === undefined ? 0 : (this.#o.maxWaits ?? 1000);
    for (let waits = 0; ; waits++) {
      const m = this.#take();
      if (m !== null) return m;
      if (waits >= maxWaits) throw new VmbusGuestError('no message from the host');
      this.#o.wait?.();
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

  #post(bytes: Uint8Array): void {
    const status = this.postMessage(bytes);
    if (status !== HvStatus.SUCCESS) {
      throw new VmbusGuestError(
        `${channelMessageTypeName(channelMessageType(bytes) ?? 0)}: HvCallPostMessage status 0x${status.toString(16)}`,
      );
    }
  }

  /**
   * `vmbus_establish_gpadl`: GPADL_HEADER (≤ 26 PFNs) and GPADL_BODY messages (≤ 28 each), then
   * waits for GPADL_CREATED; returns the GPADL id, or throws with the creation status.
   */
  establishGpadl(relid: number, pfns: readonly bigint[]): number {
    const gpadl = this.#nextGpadl++;
    for (const m of encodeGpadlMessages(relid, gpadl, pfns)) this.#post(m);
    for (;;) {
      const created = GpadlCreated.decode(this.awaitMessage(ChannelMessageType.GPADL_CREATED));
      if (created === null || created.gpadl !== gpadl) continue;
      if (created.creationStatus !== VMBUS_STATUS_SUCCESS) {
        throw new VmbusGuestError(`GPADL ${gpadl} refused: status 0x${created.creationStatus.toString(16)}`);
      }
      return gpadl;
    }
  }

  /**
   * `vmbus_open`: zeroes and initialises both rings (feat_pending_send_sz), establishes one GPADL
   * over `[outbound control, outbound data…, inbound control, inbound data…]`, sends OPENCHANNEL
   * and waits for OPENCHANNEL_RESULT. `outboundPages` counts the guest→host ring's pages with its
   * control page (the downstream offset).
   */
  openChannel(
    relid: number,
    rings: { pfns: readonly bigint[]; outboundPages: number },
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
    this.#post(
      OpenChannel.encode({
        msgtype: ChannelMessageType.OPENCHANNEL,
        childRelid: relid,
        openId,
        ringBufferGpadl: gpadl,
        targetVp: options.targetVp ?? 0,
        downstreamRingPageOffset: rings.outboundPages,
        ...(options.userData ? { userData: options.userData } : {}),
      }),
    );
    for (;;) {
      const r = OpenChannelResult.decode(this.awaitMessage(ChannelMessageType.OPENCHANNEL_RESULT));
      if (r === null || r.childRelid !== relid || r.openId !== openId) continue;
      if (r.status !== VMBUS_STATUS_SUCCESS) {
        this.teardownGpadl(relid, gpadl);
        throw new VmbusGuestError(`OPENCHANNEL relid ${relid} refused: status 0x${r.status.toString(16)}`);
      }
      break;
    }
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
    const iso = this.#o.isolation;
    if (iso !== undefined) {
      const pfns = this.#o.monitorPages.map((gpa) => GuestPage.number(gpa));
      const [p1, p2] = aliasPageGpas(pfns, iso.boundary);
      this.#monitorAccess = [p1!, p2!];
    }
  }

  /**
   * A channel that is still open on the host (after `resume`): its offer, GPADL and ring pages as
   * `openChannel` had them, the rings taken as they are — no GPADL, no OPENCHANNEL, nothing
   * zeroed or made visible again.
   */
  reattachChannel(
    offer: GuestOffer,
    gpadl: number,
    rings: { pfns: readonly bigint[]; outboundPages: number },
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
  #ringMemories(
    rings: { pfns: readonly bigint[]; outboundPages: number },
    fresh: boolean,
  ): ChannelRingMemories {
    return channelRingMemories(
      this.#o,
      rings.pfns,
      rings.outboundPages,
      fresh,
      (status) =>
        new VmbusGuestError(
          `${SharedPlace.RING_BUFFER}: HvCallModifySparseGpaPageHostVisibility failed with ${status}`,
        ),
    );
  }

  /**
   * Spec 04 rule 12 (`vmbus_setevent`): a monitored, not low-latency channel sets its bit in the
   * child→parent monitor page; any other issues HvCallSignalEvent (fast, RDX = connection id).
   */
  signalHost(offer: GuestOffer, lowLatency: boolean): HvStatusCode {
    if (offer.monitorAllocated && !lowLatency) {
      const t = monitorTrigger(offer.monitorId);
      const gpa = this.#monitorAccess[1] + BigInt(t.pending);
      const iso = this.#o.isolation;
      const word =
        iso === undefined
          ? new Int32Array(this.#o.memory.buffer, this.#o.memory.offsetOf(gpa, 4), 1)
          : new Int32Array(
              iso.memory.ram.buffer,
              iso.memory.offsetOf(gpa, 4, 'write', SharedPlace.MONITOR_PAGE),
              1,
            );
      Atomics.or(word, 0, 1 << t.bit);
      return HvStatus.SUCCESS;
    }
    return this.#o.hypercalls.fast8(HvCallCode.HvCallSignalEvent, BigInt(offer.connectionId >>> 0)).status;
  }

  /** `vmbus_close`: CLOSECHANNEL (no answer), then the ring GPADL's teardown. */
  closeChannel(channel: GuestChannel, teardown = true): void {
    this.#post(
      ChannelRelidMessage.encode({ msgtype: ChannelMessageType.CLOSECHANNEL, childRelid: channel.relid }),
    );
    this.channels.delete(channel.relid);
    if (!teardown) return;
    this.teardownGpadl(channel.relid, channel.gpadl);
    // Linux `vmbus_free_ring`: the pages go private again once the host has let go.
    if (this.#o.isolation !== undefined) {
      const r = setHostVisibility(this.#o.hypercalls, channel.ringPfns, HostVisibility.NOT_VISIBLE);
      if (!r.ok) {
        throw new VmbusGuestError(
          `${SharedPlace.RING_BUFFER}: making the ring private again failed with ${r.statusName} (Linux leaks the pages, spec 05 rule 7)`,
        );
      }
    }
  }

  /** `vmbus_teardown_gpadl`: GPADL_TEARDOWN, then waits for GPADL_TORNDOWN. */
  teardownGpadl(relid: number, gpadl: number): void {
    this.#post(
      GpadlTeardown.encode({ msgtype: ChannelMessageType.GPADL_TEARDOWN, childRelid: relid, gpadl }),
    );
    for (;;) {
      const t = GpadlTorndown.decode(this.awaitMessage(ChannelMessageType.GPADL_TORNDOWN));
      if (t !== null && t.gpadl === gpadl) return;
    }
  }

  /**
   * Handles the rescinds that have arrived (`vmbus_onoffer_rescind`): drops the offer and its
   * channel and answers RELID_RELEASED. Returns the rescinded relids.
   */
  handleRescinds(): number[] {
    this.#drainToUnsolicited();
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
      this.#post(
        ChannelRelidMessage.encode({ msgtype: ChannelMessageType.RELID_RELEASED, childRelid: r.childRelid }),
      );
      out.push(r.childRelid);
    }
    return out;
  }

  /** UNLOAD, then waits for UNLOAD_RESPONSE; the connection is gone afterwards. */
  unload(): void {
    this.#post(ChannelMessageHeader.encode({ msgtype: ChannelMessageType.UNLOAD }));
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
