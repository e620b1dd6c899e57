/**
 * The guest's VMBus driver, the Linux flow (drivers/hv/connection.c `vmbus_connect`,
 * channel_mgmt.c, channel.c `vmbus_establish_gpadl`/`vmbus_open`/`vmbus_close`/
 * `vmbus_teardown_gpadl`): channel messages go out with HvCallPostMessage and come back in the
 * SIMP slot of SINT 2. In the direct harness the host has answered by the time the hypercall
 * returns, so polling the slot is enough; with `wait` set (e.g. `() => cpu.halt()`), an empty
 * slot waits for the next interrupt instead, up to `maxWaits` times.
 */
import { type GuestMemory, GuestPage, HV_PAGE_SIZE, HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import type { GuestCpu, GuestHypercalls } from '@pvlab/hypercall/guest';
import { HostVisibility } from '@pvlab/isolation';
import {
  type DoubleMappedRing,
  mapRingThroughAlias,
  SharedPlace,
  setHostVisibility,
  shareMonitorPages,
} from '@pvlab/isolation/guest';
import { initRingControl } from '../ring/control.js';
import { RingMemory, type RingPageAccessor } from '../ring/ring-memory.js';
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
import { PostMessageInput, SynicCallCode } from '../wire/synic.js';
import {
  initiateContactConnectionId,
  LINUX_VMBUS_VERSIONS,
  VMBUS_HV_MESSAGE_TYPE,
  VMBUS_MESSAGE_CONNECTION_ID,
  VMBUS_MESSAGE_SINT,
  VmbusVersion,
} from '../wire/versions.js';
import { GuestChannel } from './channel.js';
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

/**
 * The guest's memory in an isolation VM as the driver needs it (`IsolatedGuestMemory` fits):
 * private GPAs below the boundary, shared aliases above it, the wrong alias an `IsolationFault`
 * naming `place`.
 */
export interface GuestBoundaryView {
  /** The RAM behind both aliases (ring bytes are reached through it after the alias checks). */
  readonly ram: GuestMemory;
  /** The RAM offset of `[gpa, gpa + length)` after the alias checks; throws a fault naming `place`. */
  offsetOf(gpa: bigint, length: number, access?: 'read' | 'write', place?: string): number;
  read(gpa: bigint, length: number, place?: string): Uint8Array;
  write(gpa: bigint, data: Uint8Array, place?: string): void;
}

/** What the driver does differently in an isolation VM (spec 05 "Where Linux applies the boundary"). */
export interface VmbusIsolationOptions {
  /** vTOM (1 << SharedGpaBoundaryBits). */
  readonly boundary: bigint;
  /** The guest's view of memory with the boundary. */
  readonly memory: GuestBoundaryView;
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
      const status = this.#o.hypercalls.call(BigInt(SynicCallCode.HvCallPostMessage)).status;
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
    const { outbound, inbound, mappings } = this.#ringMemories(rings.pfns, rings.outboundPages);
    initRingControl(outbound);
    initRingControl(inbound);
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
    const channel = new GuestChannel({
      offer,
      gpadl,
      writer: new RingWriter(outbound),
      reader: new RingReader(inbound),
      signalHost: () => this.signalHost(offer, options.lowLatency ?? false),
      ringPfns: rings.pfns,
      ...(mappings === null ? {} : { mappings }),
    });
    this.channels.set(relid, channel);
    return channel;
  }

  /**
   * Zeroed ring memories over `pfns`. Isolation VM (Linux 5.16–6.2 `hv_ringbuffer_init`): the
   * pages are made host-visible, each ring double-mapped through the alias ([header, data…,
   * data…]) and zeroed there; the ring works over the mapping's first copy (spec 04 rule 10 lets
   * it wrap copies explicitly) and every ring operation re-runs the alias checks. With
   * `forgetBoundary.rings` the mapping uses the private GPAs and the guest's view faults.
   */
  #ringMemories(
    pfns: readonly bigint[],
    outboundPages: number,
  ): {
    outbound: RingMemory;
    inbound: RingMemory;
    mappings: readonly [DoubleMappedRing, DoubleMappedRing] | null;
  } {
    const halves = [pfns.slice(0, outboundPages), pfns.slice(outboundPages)] as const;
    const iso = this.#o.isolation;
    if (iso === undefined) {
      const mem = this.#o.memory;
      for (const pfn of pfns) mem.fill(GuestPage.address(pfn), HV_PAGE_SIZE, 0);
      return {
        outbound: RingMemory.fromGuestPages(mem, halves[0]),
        inbound: RingMemory.fromGuestPages(mem, halves[1]),
        mappings: null,
      };
    }
    const changed = setHostVisibility(this.#o.hypercalls, pfns, HostVisibility.READ_WRITE);
    if (!changed.ok) {
      throw new VmbusGuestError(
        `${SharedPlace.RING_BUFFER}: HvCallModifySparseGpaPageHostVisibility failed with ${changed.statusName}`,
      );
    }
    const forget = iso.forgetBoundary?.rings === true;
    const mappings = halves.map((half) => {
      const ring = mapRingThroughAlias(iso.memory, iso.boundary, half, { forgetBoundary: forget });
      ring.zero(0, HV_PAGE_SIZE + ring.dataSize); // the conversion left garbage
      return ring;
    }) as [DoubleMappedRing, DoubleMappedRing];
    const memoryOf = (ring: DoubleMappedRing) => {
      const gpas = ring.pageGpas.slice(0, 1 + ring.dataSize / HV_PAGE_SIZE);
      return RingMemory.fromPages(boundaryAccessor(iso.memory, gpas, ring.place), gpas);
    };
    return { outbound: memoryOf(mappings[0]), inbound: memoryOf(mappings[1]), mappings };
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
    return this.#o.hypercalls.fast8(SynicCallCode.HvCallSignalEvent, BigInt(offer.connectionId >>> 0)).status;
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
