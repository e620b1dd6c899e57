/**
 * The VMBus server (the host's channel management, spec 04 "Channel messages"; Linux
 * drivers/hv/channel_mgmt.c and connection.c as the peer; openvmm vmbus_server): version
 * negotiation, offers, GPADLs assembled from GPADL_HEADER + GPADL_BODY, open/close, teardown,
 * rescind and unload. Every field the guest sends is validated; a message that cannot be
 * answered is ignored with a diagnostic, one that can gets the protocol's failure status. Nothing
 * here throws on guest data. All work runs inside the guest's exit (the PostMessage or
 * SignalEvent that caused it), so the direct harness and the threaded host see the same thing.
 */
import {
  type ByteFieldSpec,
  type ByteStruct,
  type ByteStructValues,
  GuestPage,
  HV_PAGE_SIZE,
  HvStatus,
  type HvStatusCode,
} from '@pvlab/hypercall';
import type { HvPartition } from '@pvlab/hypercall/host';
import { refusedAccess } from '../ring/results.js';
import { RingMemory, splitChannelGpadl } from '../ring/ring-memory.js';
import { RingReader } from '../ring/ring-reader.js';
import { RingWriter } from '../ring/ring-writer.js';
import {
  ChannelMessageHeader,
  ChannelMessageType,
  ChannelRelidMessage,
  channelMessageType,
  channelMessageTypeName,
  GpadlBody,
  GpadlCreated,
  GpadlHeader,
  GpadlTeardown,
  GpadlTorndown,
  GpaRangeHeader,
  InitiateContact,
  OFFER_DEDICATED_INTERRUPT,
  OFFER_MONITOR_ALLOCATED,
  OfferChannel,
  OpenChannel,
  OpenChannelResult,
  VersionResponse,
  VMBUS_STATUS_SUCCESS,
  VMBUS_STATUS_UNSUCCESSFUL,
  VmbusConnectionState,
} from '../wire/channel-messages.js';
import {
  MONITOR_IDS,
  MONITOR_TRIGGER_STATE_OFFSET,
  monitorParameterOffset,
  monitorTrigger,
} from '../wire/monitor-page.js';
import { HV_SYNIC_SINT_COUNT } from '../wire/synic.js';
import {
  VMBUS_HV_MESSAGE_TYPE,
  VMBUS_MESSAGE_CONNECTION_ID,
  VMBUS_MESSAGE_CONNECTION_ID_4,
  VMBUS_MESSAGE_SINT,
  VmbusVersion,
  vmbusVersionName,
} from '../wire/versions.js';
import type { HostChannel, VmbusDevice } from './device.js';
import { HostGuestAccess, type HostRefusal, VmbusPlace } from './host-access.js';
import type { SynicHost } from './synic.js';
import type { EventConnection, SynicPorts } from './synic-hypercalls.js';

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

/** The VMBus server of one partition. */
export class VmbusServer {
  readonly #p: HvPartition;
  readonly #synic: SynicHost;
  readonly #ports: SynicPorts;
  readonly versions: readonly number[];
  readonly messageQueueDepth: number;
  /** How the host reaches guest memory (through the shared aliases only, in an isolation VM). */
  readonly access: HostGuestAccess;
  connection: VmbusConnection | null = null;
  readonly channels = new Map<number, ServerChannel>();
  readonly #gpadls = new Map<number, ServerGpadl>();
  readonly #devices: VmbusDevice[] = [];
  #nextRelid = 1;
  #nextMonitorId = 0;
  readonly counters: VmbusServerCounters = {
    messagesIn: 0,
    messagesOut: 0,
    ignored: 0,
    refusedBusy: 0,
    signals: 0,
  };

  constructor(partition: HvPartition, synic: SynicHost, ports: SynicPorts, options: VmbusServerOptions) {
    this.#p = partition;
    this.#synic = synic;
    this.#ports = ports;
    this.access = new HostGuestAccess(partition);
    this.versions = options.versions ?? VMBUS_SERVER_VERSIONS;
    this.messageQueueDepth = options.messageQueueDepth ?? VMBUS_DEFAULT_MESSAGE_QUEUE_DEPTH;
    if (!Number.isInteger(this.messageQueueDepth) || this.messageQueueDepth < 1) {
      throw new RangeError(
        `VMBus messageQueueDepth ${this.messageQueueDepth} is not accepted: use an integer ≥ 1`,
      );
    }
    for (const v of this.versions) {
      if (v < VmbusVersion.WIN8 || !Object.values(VmbusVersion).includes(v as never)) {
        throw new RangeError(
          `VMBus version 0x${v.toString(16)} is not accepted: use versions from WIN8 (0x20004) on in VmbusVersion`,
        );
      }
    }
    const handler = (vp: number, type: number, payload: Uint8Array) => this.#onMessage(vp, type, payload);
    ports.connectMessagePort(VMBUS_MESSAGE_CONNECTION_ID, handler);
    ports.connectMessagePort(VMBUS_MESSAGE_CONNECTION_ID_4, handler);
    for (const d of options.devices) this.addDevice(d);
  }

  /** Adds a device as a new channel (and offers it at once when the guest is connected); returns its relid. */
  addDevice(device: VmbusDevice): number {
    for (const [what, g] of [
      ['interfaceType', device.interfaceType],
      ['interfaceInstance', device.interfaceInstance],
    ] as const) {
      if (!(g instanceof Uint8Array) || g.length !== 16) {
        throw new RangeError(`device ${device.name}: ${what} must be 16 GUID bytes`);
      }
    }
    let monitorId: number | null = null;
    if (device.monitored === true) {
      if (this.#nextMonitorId >= MONITOR_IDS) {
        throw new RangeError(`device ${device.name}: all ${MONITOR_IDS} monitor ids are in use`);
      }
      monitorId = this.#nextMonitorId++;
    }
    this.#devices.push(device);
    const relid = this.#nextRelid++;
    const ch = new ServerChannel(relid, device, VMBUS_CHANNEL_CONNECTION_BASE + relid, monitorId);
    this.channels.set(relid, ch);
    if (this.connection) this.#offer(ch);
    return relid;
  }

  /**
   * Rescinds a channel (host API): closes it if open (its event port is deleted) and sends
   * RESCIND_CHANNELOFFER; the relid is freed when the guest answers RELID_RELEASED.
   */
  rescind(relid: number): void {
    const ch = this.channels.get(relid);
    if (ch === undefined || ch.state === 'rescinded') {
      throw new RangeError(
        `relid ${relid} is not an offered channel: use one of ${[...this.channels.keys()].join(', ')}`,
      );
    }
    this.#close(ch);
    ch.state = 'rescinded';
    if (this.connection)
      this.#send(
        ChannelRelidMessage.encode({ msgtype: ChannelMessageType.RESCIND_CHANNELOFFER, childRelid: relid }),
      );
  }

  /**
   * Looks at the child→parent monitor page (host API; Hyper-V polls it on a timer): each open,
   * monitored channel whose pending bit is set has it cleared and is signalled. Returns how many.
   */
  pollMonitors(): number {
    const c = this.connection;
    if (c === null) return 0;
    let n = 0;
    for (const ch of this.channels.values()) {
      if (ch.monitorId === null || ch.state !== 'open' || ch.open === null) continue;
      const t = monitorTrigger(ch.monitorId);
      const at = this.#monitorOffset(c.monitorPages[1] + BigInt(t.pending), c.targetVcpu);
      if (at === null) continue;
      const word = new Int32Array(this.#p.memory.buffer, at, 1);
      const bit = 1 << t.bit;
      if ((Atomics.and(word, 0, ~bit) & bit) !== 0) {
        n++;
        this.#signalDevice(ch);
      }
    }
    return n;
  }

  /** The partition the server runs in. */
  get partition(): HvPartition {
    return this.#p;
  }

  /** Every device, in the order it was added (the snapshot names devices by this index). */
  get devices(): readonly VmbusDevice[] {
    return this.#devices;
  }

  /** The server's state, for a snapshot (live objects: do not change them). */
  state(): VmbusServerState {
    return {
      connection: this.connection,
      channels: [...this.channels.values()],
      gpadls: [...this.#gpadls.values()],
      nextRelid: this.#nextRelid,
      nextMonitorId: this.#nextMonitorId,
      counters: this.counters,
    };
  }

  /**
   * Replaces the server's state (a restore, checked beforehand): channels, GPADLs, the
   * connection, counters, and every channel's event port (live for open channels).
   */
  restoreState(s: VmbusServerState, eventConnections: readonly EventConnection[]): void {
    this.connection = s.connection;
    this.channels.clear();
    for (const ch of s.channels) this.channels.set(ch.relid, ch);
    this.#gpadls.clear();
    for (const g of s.gpadls) this.#gpadls.set(g.id, g);
    this.#nextRelid = s.nextRelid;
    this.#nextMonitorId = s.nextMonitorId;
    Object.assign(this.counters, s.counters);
    this.#ports.replaceEventConnections(eventConnections, (id) => {
      const ch = [...this.channels.values()].find((c) => c.connectionId === id);
      return () => {
        if (ch) this.#signalDevice(ch);
      };
    });
  }

  /**
   * The device's view of an open channel over `rings` (OPENCHANNEL, or a restore): signals go to
   * SINT 2 of `targetVp` with the channel's relid as the event flag.
   */
  hostChannel(
    ch: ServerChannel,
    open: { openId: number; targetVp: number; userData: Uint8Array; reader: RingReader; writer: RingWriter },
  ): HostChannel {
    return {
      relid: ch.relid,
      connectionId: ch.connectionId,
      targetVp: open.targetVp,
      openId: open.openId,
      userData: open.userData,
      reader: open.reader,
      writer: open.writer,
      signalGuest: () => {
        this.counters.signals++;
        this.#synic.signalEvent(open.targetVp, VMBUS_MESSAGE_SINT, ch.relid);
      },
      readGuestRange: (range) => {
        const read = this.access.readRange(range);
        if (read instanceof Uint8Array) return read;
        const message = `channel ${ch.relid}: ${read.message}`;
        if (this.access.isolation === null) this.#diagnose(open.targetVp, 'gpa-direct.not-ram', message);
        else {
          this.counters.ignored++;
          this.#p.diagnose('spec05.gpa-direct-page', open.targetVp, message);
        }
        return read;
      },
    };
  }

  /**
   * The two rings of an open channel over its GPADL pages: raw RAM in an ordinary VM; in an
   * isolation VM through the pages' shared aliases, checked before every ring operation (the
   * host writes the control pages and the host→guest data, reads the guest→host data). A
   * refusal ends the ring and is diagnosed once (`spec05.ring-page`) on `targetVp`.
   */
  channelRings(
    relid: number,
    split: { readonly outbound: readonly bigint[]; readonly inbound: readonly bigint[] },
    targetVp: number,
  ): { outbound: RingMemory; inbound: RingMemory } {
    let reported = false;
    const report = (r: HostRefusal) => {
      if (reported) return;
      reported = true;
      this.#p.diagnose('spec05.ring-page', targetVp, `channel ${relid}: ${r.message}`);
    };
    const out = this.access.ringAccessor(split.outbound, 'read', report);
    const inb = this.access.ringAccessor(split.inbound, 'write', report);
    if (out === null || inb === null) {
      const mem = this.#p.memory;
      return {
        outbound: RingMemory.fromGuestPages(mem, split.outbound),
        inbound: RingMemory.fromGuestPages(mem, split.inbound),
      };
    }
    return {
      outbound: RingMemory.fromPages(out.accessor, out.gpas),
      inbound: RingMemory.fromPages(inb.accessor, inb.gpas),
    };
  }

  /** GPADL ids created (complete) for `relid`, for tests and traces. */
  gpadlsOf(relid: number): number[] {
    return [...this.#gpadls.values()].filter((g) => g.relid === relid && g.ranges !== null).map((g) => g.id);
  }

  #diagnose(vp: number, rule: string, message: string): void {
    this.counters.ignored++;
    this.#p.diagnose(`spec04.${rule}`, vp, message);
  }

  /** The RAM offset of a 4-byte monitor page word the host writes, or `null` (diagnosed) when refused. */
  #monitorOffset(gpa: bigint, vp: number): number | null {
    const refused = this.access.refusal(gpa, 4, 'write', VmbusPlace.MONITOR_PAGE);
    if (refused === null) return this.access.offsetOf(gpa, 4, 'write', VmbusPlace.MONITOR_PAGE);
    this.counters.ignored++;
    this.#p.diagnose('spec05.monitor-page', vp, refused.message);
    return null;
  }

  #send(bytes: Uint8Array): void {
    const c = this.connection;
    if (c === null) return;
    this.counters.messagesOut++;
    this.#synic.post(c.targetVcpu, c.messageSint, VMBUS_HV_MESSAGE_TYPE, bytes);
  }

  #decode<F extends readonly ByteFieldSpec[]>(
    vp: number,
    s: ByteStruct<F>,
    payload: Uint8Array,
  ): ByteStructValues<F> | null {
    const m = s.decode(payload);
    if (m === null)
      this.#diagnose(vp, 'message.short', `${s.name}: ${payload.length} bytes, fewer than ${s.size}`);
    return m;
  }

  #onMessage(vp: number, _type: number, payload: Uint8Array): HvStatusCode {
    const c = this.connection;
    if (c !== null && this.#synic.pending(c.targetVcpu, c.messageSint) >= this.messageQueueDepth) {
      this.counters.refusedBusy++;
      return HvStatus.INSUFFICIENT_BUFFERS;
    }
    this.counters.messagesIn++;
    const type = channelMessageType(payload);
    if (type === null) {
      this.#diagnose(vp, 'message.short', `a channel message of ${payload.length} bytes has no header`);
      return HvStatus.SUCCESS;
    }
    if (type !== ChannelMessageType.INITIATE_CONTACT && c === null) {
      this.#diagnose(vp, 'message.not-connected', `${channelMessageTypeName(type)} before INITIATE_CONTACT`);
      return HvStatus.SUCCESS;
    }
    switch (type) {
      case ChannelMessageType.INITIATE_CONTACT:
        this.#initiateContact(vp, payload);
        break;
      case ChannelMessageType.REQUESTOFFERS:
        for (const ch of this.channels.values()) if (ch.state !== 'rescinded') this.#offer(ch);
        this.#send(ChannelMessageHeader.encode({ msgtype: ChannelMessageType.ALLOFFERS_DELIVERED }));
        break;
      case ChannelMessageType.GPADL_HEADER:
        this.#gpadlHeader(vp, payload);
        break;
      case ChannelMessageType.GPADL_BODY:
        this.#gpadlBody(vp, payload);
        break;
      case ChannelMessageType.OPENCHANNEL:
        this.#openChannel(vp, payload);
        break;
      case ChannelMessageType.CLOSECHANNEL:
        this.#closeChannel(vp, payload);
        break;
      case ChannelMessageType.GPADL_TEARDOWN:
        this.#gpadlTeardown(vp, payload);
        break;
      case ChannelMessageType.RELID_RELEASED:
        this.#relidReleased(vp, payload);
        break;
      case ChannelMessageType.UNLOAD:
        this.#unload();
        break;
      default:
        this.#diagnose(
          vp,
          'message.unexpected',
          `${channelMessageTypeName(type)} is not a guest→host message pvlab serves`,
        );
    }
    return HvStatus.SUCCESS;
  }

  #initiateContact(vp: number, payload: Uint8Array): void {
    const m = this.#decode(vp, InitiateContact, payload);
    if (m === null) return;
    if (m.targetVcpu >= this.#p.vps.length) {
      this.#diagnose(vp, 'contact.target-vcpu', `INITIATE_CONTACT target_vcpu ${m.targetVcpu}: no such VP`);
      return;
    }
    const modern = m.version >= VmbusVersion.WIN10_V5;
    const sint = modern ? m.msgSint : VMBUS_MESSAGE_SINT;
    if (sint >= HV_SYNIC_SINT_COUNT) {
      this.#diagnose(vp, 'contact.sint', `INITIATE_CONTACT msg_sint ${sint}: no such SINT`);
      return;
    }
    let refusal: string | null = null;
    let rule = 'contact.refused';
    if (this.connection !== null) refusal = 'already connected (send UNLOAD first)';
    else if (!this.versions.includes(m.version))
      refusal = `version ${vmbusVersionName(m.version)} is not offered`;
    else if (modern && m.msgVtl !== 0) refusal = `msg_vtl ${m.msgVtl}: only VTL 0 is modelled`;
    else {
      const isolated = this.access.isolation !== null;
      for (const page of [m.monitorPage1, m.monitorPage2]) {
        if (!GuestPage.isAligned(page)) refusal = `monitor page 0x${page.toString(16)} is not a RAM page`;
        else if (!isolated && !this.#p.memory.contains(page, HV_PAGE_SIZE)) {
          refusal = `monitor page 0x${page.toString(16)} is not a RAM page`;
        } else if (isolated) {
          // Spec 05: the pages must be host-visible and named by their shared alias (+ boundary).
          const refused = this.access.refusal(page, HV_PAGE_SIZE, 'write', VmbusPlace.MONITOR_PAGE);
          if (refused !== null) {
            refusal = `monitor page 0x${page.toString(16)}: ${refused.message}`;
            rule = 'spec05.monitor-page';
            break;
          }
        }
      }
      if (refusal === null && m.monitorPage1 === m.monitorPage2)
        refusal = 'both monitor pages are the same page';
    }
    const reply = (connection: VmbusConnection, ok: boolean) => {
      this.counters.messagesOut++;
      this.#synic.post(
        connection.targetVcpu,
        connection.messageSint,
        VMBUS_HV_MESSAGE_TYPE,
        VersionResponse.encode({
          msgtype: ChannelMessageType.VERSION_RESPONSE,
          versionSupported: ok ? 1 : 0,
          connectionState: ok ? VmbusConnectionState.SUCCESSFUL : VmbusConnectionState.FAILED_UNKNOWN_FAILURE,
          msgConnId: ok && modern ? VMBUS_MESSAGE_CONNECTION_ID_4 : 0,
        }),
      );
    };
    const connection: VmbusConnection = {
      version: m.version,
      targetVcpu: m.targetVcpu,
      messageSint: sint,
      monitorPages: [m.monitorPage1, m.monitorPage2],
    };
    if (refusal !== null) {
      const message = `INITIATE_CONTACT refused: ${refusal}`;
      if (rule === 'contact.refused') this.#diagnose(vp, rule, message);
      else {
        this.counters.ignored++;
        this.#p.diagnose(rule, vp, message);
      }
      // A refusal goes where the guest asked, without changing the current connection.
      reply(this.connection ?? connection, false);
      return;
    }
    this.connection = connection;
    reply(connection, true);
  }

  #offer(ch: ServerChannel): void {
    const c = this.connection;
    if (c === null) return;
    if (ch.monitorId !== null) {
      // Hyper-V fills in the monitor parameter and enables the trigger group.
      const view = this.#p.memory.view;
      const page = c.monitorPages[1];
      const param = this.#monitorOffset(page + BigInt(monitorParameterOffset(ch.monitorId)), c.targetVcpu);
      if (param !== null) view.setUint32(param, ch.connectionId, true);
      const state = this.#monitorOffset(page + BigInt(MONITOR_TRIGGER_STATE_OFFSET), c.targetVcpu);
      if (state !== null)
        view.setUint32(state, view.getUint32(state, true) | (1 << monitorTrigger(ch.monitorId).group), true);
    }
    this.#send(
      OfferChannel.encode({
        msgtype: ChannelMessageType.OFFERCHANNEL,
        interfaceType: ch.device.interfaceType,
        interfaceInstance: ch.device.interfaceInstance,
        childRelid: ch.relid,
        monitorId: ch.monitorId ?? 0,
        monitorFlags: ch.monitorId === null ? 0 : OFFER_MONITOR_ALLOCATED,
        interruptFlags: OFFER_DEDICATED_INTERRUPT,
        connectionId: ch.connectionId,
      }),
    );
  }

  #gpadlCreated(relid: number, gpadl: number, ok: boolean): void {
    this.#send(
      GpadlCreated.encode({
        msgtype: ChannelMessageType.GPADL_CREATED,
        childRelid: relid,
        gpadl,
        creationStatus: ok ? VMBUS_STATUS_SUCCESS : VMBUS_STATUS_UNSUCCESSFUL,
      }),
    );
  }

  #gpadlHeader(vp: number, payload: Uint8Array): boolean {
    const m = this.#decode(vp, GpadlHeader, payload);
    if (m === null) return false;
    const fail = (why: string) => {
      this.#diagnose(vp, 'gpadl.refused', `GPADL_HEADER gpadl ${m.gpadl}: ${why}`);
      this.#gpadlCreated(m.childRelid, m.gpadl, false);
      return false;
    };
    const ch = this.channels.get(m.childRelid);
    if (ch === undefined || ch.state === 'rescinded')
      return fail(`child_relid ${m.childRelid} is not an offered channel`);
    if (m.gpadl === 0) return fail('gpadl id 0 is reserved');
    if (this.#gpadls.has(m.gpadl)) return fail('the gpadl id is in use');
    if (m.rangeCount === 0) return fail('rangecount 0');
    if (m.rangeBufLen % 8 !== 0 || m.rangeBufLen < m.rangeCount * (GpaRangeHeader.size + 8)) {
      return fail(`range_buflen ${m.rangeBufLen} cannot hold ${m.rangeCount} range(s)`);
    }
    const data = payload.subarray(
      GpadlHeader.size,
      GpadlHeader.size + Math.floor((payload.length - GpadlHeader.size) / 8) * 8,
    );
    if (data.length > m.rangeBufLen)
      return fail(`${data.length} bytes of ranges exceed range_buflen ${m.rangeBufLen}`);
    const g: ServerGpadl = {
      id: m.gpadl,
      relid: m.childRelid,
      rangeCount: m.rangeCount,
      buffer: new Uint8Array(m.rangeBufLen),
      received: data.length,
      ranges: null,
    };
    g.buffer.set(data);
    this.#gpadls.set(g.id, g);
    if (g.received === g.buffer.length) this.#finishGpadl(vp, g);
    return true;
  }

  #gpadlBody(vp: number, payload: Uint8Array): void {
    const m = this.#decode(vp, GpadlBody, payload);
    if (m === null) return;
    const g = this.#gpadls.get(m.gpadl);
    if (g === undefined || g.ranges !== null) {
      this.#diagnose(
        vp,
        'gpadl.body-unknown',
        `GPADL_BODY for gpadl ${m.gpadl}, which is not being assembled`,
      );
      return;
    }
    const n = Math.floor((payload.length - GpadlBody.size) / 8) * 8;
    if (g.received + n > g.buffer.length) {
      this.#gpadls.delete(g.id);
      this.#diagnose(
        vp,
        'gpadl.refused',
        `GPADL_BODY overruns gpadl ${g.id}'s range_buflen ${g.buffer.length}`,
      );
      this.#gpadlCreated(g.relid, g.id, false);
      return;
    }
    g.buffer.set(payload.subarray(GpadlBody.size, GpadlBody.size + n), g.received);
    g.received += n;
    if (g.received === g.buffer.length) this.#finishGpadl(vp, g);
  }

  #finishGpadl(vp: number, g: ServerGpadl): void {
    const view = new DataView(g.buffer.buffer);
    const ranges: NonNullable<ServerGpadl['ranges']> = [];
    let at = 0;
    let why: string | null = null;
    let rule = 'gpadl.refused';
    for (let r = 0; r < g.rangeCount && why === null; r++) {
      if (at + GpaRangeHeader.size > g.buffer.length) {
        why = `range ${r} starts past range_buflen`;
        break;
      }
      const byteCount = view.getUint32(at, true);
      const byteOffset = view.getUint32(at + 4, true);
      at += GpaRangeHeader.size;
      const pages = Math.ceil(((byteOffset % HV_PAGE_SIZE) + byteCount) / HV_PAGE_SIZE);
      if (byteCount === 0 || byteOffset >= HV_PAGE_SIZE) {
        why = `range ${r}: byte_count ${byteCount}, byte_offset ${byteOffset}`;
        break;
      }
      if (at + 8 * pages > g.buffer.length) {
        why = `range ${r} needs ${pages} PFNs past range_buflen`;
        break;
      }
      const pfns: bigint[] = [];
      const isolated = this.access.isolation !== null;
      for (let i = 0; i < pages; i++, at += 8) {
        const pfn = view.getBigUint64(at, true);
        if (isolated) {
          // Spec 05 rule 15: plain PFNs; the host adds the boundary and needs every page host-visible.
          const gpa = this.access.gpadlPageGpa(pfn);
          const refused = this.access.refusal(gpa, HV_PAGE_SIZE, 'read', VmbusPlace.GPADL);
          if (refused !== null) {
            why = `PFN 0x${pfn.toString(16)} (ring buffer or other GPADL memory): ${refused.message}`;
            rule = 'spec05.gpadl-page';
            break;
          }
        } else if (!this.#p.memory.contains(GuestPage.address(pfn), HV_PAGE_SIZE)) {
          why = `PFN 0x${pfn.toString(16)} is outside RAM`;
          break;
        }
        pfns.push(pfn);
      }
      ranges.push({ byteCount, byteOffset, pfns });
    }
    if (why === null && at !== g.buffer.length)
      why = `range_buflen ${g.buffer.length} holds ${g.buffer.length - at} bytes past the last range`;
    if (why !== null) {
      this.#gpadls.delete(g.id);
      if (rule === 'gpadl.refused') this.#diagnose(vp, rule, `gpadl ${g.id}: ${why}`);
      else {
        this.counters.ignored++;
        this.#p.diagnose(rule, vp, `gpadl ${g.id}: ${why}`);
      }
      this.#gpadlCreated(g.relid, g.id, false);
      return;
    }
    g.ranges = ranges;
    this.#gpadlCreated(g.relid, g.id, true);
  }

  #openChannel(vp: number, payload: Uint8Array): boolean {
    const m = this.#decode(vp, OpenChannel, payload);
    if (m === null) return false;
    const ch = this.channels.get(m.childRelid);
    if (ch === undefined || ch.state === 'rescinded') {
      this.#diagnose(vp, 'open.relid', `OPENCHANNEL for child_relid ${m.childRelid}, not an offered channel`);
      return false;
    }
    const result = (ok: boolean, why?: string) => {
      if (!ok) this.#diagnose(vp, 'open.refused', `OPENCHANNEL relid ${ch.relid}: ${why}`);
      this.#send(
        OpenChannelResult.encode({
          msgtype: ChannelMessageType.OPENCHANNEL_RESULT,
          childRelid: ch.relid,
          openId: m.openId,
          status: ok ? VMBUS_STATUS_SUCCESS : VMBUS_STATUS_UNSUCCESSFUL,
        }),
      );
      return ok;
    };
    if (ch.state === 'open') return result(false, 'already open');
    const g = this.#gpadls.get(m.ringBufferGpadl);
    if (g === undefined || g.ranges === null || g.relid !== ch.relid) {
      return result(
        false,
        `ringbuffer_gpadlhandle ${m.ringBufferGpadl} is not a GPADL created for this channel`,
      );
    }
    const range = g.ranges[0]!;
    if (
      g.ranges.length !== 1 ||
      range.byteOffset !== 0 ||
      range.byteCount !== range.pfns.length * HV_PAGE_SIZE
    ) {
      return result(false, 'the ring GPADL must be one range of whole pages');
    }
    if (m.targetVp >= this.#p.vps.length) return result(false, `target_vp ${m.targetVp}: no such VP`);
    const split = splitChannelGpadl(range.pfns, m.downstreamRingPageOffset);
    if (!split.ok) return result(false, split.reason);
    const { outbound, inbound } = this.channelRings(ch.relid, split, m.targetVp);
    // An isolation VM's pages may have gone private since GPADL_CREATED: refuse the open then.
    for (const ring of [outbound, inbound]) {
      const refused = ring.check === null ? null : refusedAccess(ring.check);
      if (refused !== null) return result(false, refused.detail);
    }
    const host = this.hostChannel(ch, {
      openId: m.openId,
      targetVp: m.targetVp,
      userData: m.userData,
      reader: new RingReader(outbound),
      writer: new RingWriter(inbound),
    });
    ch.state = 'open';
    ch.open = {
      openId: m.openId,
      gpadl: g.id,
      downstreamRingPageOffset: m.downstreamRingPageOffset,
      host,
    };
    this.#ports.forgetEventConnection(ch.connectionId);
    this.#ports.connectEventPort(ch.connectionId, () => this.#signalDevice(ch));
    ch.device.open(host);
    return result(true);
  }

  #signalDevice(ch: ServerChannel): void {
    if (ch.open !== null) ch.device.signal(ch.open.host);
  }

  #close(ch: ServerChannel): void {
    if (ch.open === null) return;
    const host = ch.open.host;
    ch.open = null;
    ch.state = 'offered';
    this.#ports.deleteEventPort(ch.connectionId);
    ch.device.close(host);
  }

  #closeChannel(vp: number, payload: Uint8Array): void {
    const m = this.#decode(vp, ChannelRelidMessage, payload);
    if (m === null) return;
    const ch = this.channels.get(m.childRelid);
    if (ch === undefined || ch.state !== 'open') {
      this.#diagnose(vp, 'close.relid', `CLOSECHANNEL for child_relid ${m.childRelid}, not an open channel`);
      return;
    }
    this.#close(ch);
  }

  #gpadlTeardown(vp: number, payload: Uint8Array): void {
    const m = this.#decode(vp, GpadlTeardown, payload);
    if (m === null) return;
    const g = this.#gpadls.get(m.gpadl);
    if (g === undefined || g.relid !== m.childRelid) {
      this.#diagnose(
        vp,
        'teardown.unknown',
        `GPADL_TEARDOWN of gpadl ${m.gpadl} for relid ${m.childRelid}: no such GPADL`,
      );
      return;
    }
    const ch = this.channels.get(g.relid);
    if (ch?.open?.gpadl === g.id) {
      this.#diagnose(
        vp,
        'teardown.in-use',
        `GPADL_TEARDOWN of gpadl ${g.id} while channel ${g.relid} has its rings open`,
      );
      return;
    }
    this.#gpadls.delete(g.id);
    this.#send(GpadlTorndown.encode({ msgtype: ChannelMessageType.GPADL_TORNDOWN, gpadl: g.id }));
  }

  #relidReleased(vp: number, payload: Uint8Array): void {
    const m = this.#decode(vp, ChannelRelidMessage, payload);
    if (m === null) return;
    const ch = this.channels.get(m.childRelid);
    if (ch === undefined || ch.state !== 'rescinded') {
      this.#diagnose(
        vp,
        'relid.released',
        `RELID_RELEASED for child_relid ${m.childRelid}, which was not rescinded`,
      );
      return;
    }
    this.channels.delete(ch.relid);
    this.#ports.forgetEventConnection(ch.connectionId);
    for (const g of [...this.#gpadls.values()]) if (g.relid === ch.relid) this.#gpadls.delete(g.id);
  }

  #unload(): void {
    for (const ch of [...this.channels.values()]) {
      this.#close(ch);
      if (ch.state === 'rescinded') {
        this.channels.delete(ch.relid);
        this.#ports.forgetEventConnection(ch.connectionId);
      }
    }
    this.#gpadls.clear();
    this.#send(ChannelMessageHeader.encode({ msgtype: ChannelMessageType.UNLOAD_RESPONSE }));
    this.connection = null;
  }
}
