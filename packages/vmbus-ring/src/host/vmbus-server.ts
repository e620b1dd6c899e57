/**
 * The VMBus server (the host's channel management, spec 04 "Channel messages"; Linux
 * drivers/hv/channel_mgmt.c and connection.c as the peer; openvmm vmbus_server): version
 * negotiation, offers, GPADLs assembled from GPADL_HEADER + GPADL_BODY, open/close, teardown,
 * rescind and unload. Every field the guest sends is validated; a message that cannot be
 * answered is ignored with a diagnostic, one that can gets the protocol's failure status. Nothing
 * here throws on guest data. All work runs inside the guest's exit (the PostMessage or
 * SignalEvent that caused it), so the direct harness and the threaded host see the same thing.
 *
 * This module is the server's public face and its dispatch by message kind; the handlers live
 * beside it: `server-connection` (contact, unload), `server-offers`, `server-gpadls`,
 * `server-channels` (open, close, the rings) and `server-monitor`, all over one `ServerCore`.
 */
import { HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import type { HvPartition } from '@pvlab/hypercall/host';
import type { RingMemory } from '../ring/ring-memory.js';
import { ChannelMessageType, channelMessageType, channelMessageTypeName } from '../wire/channel-messages.js';
import { VMBUS_MESSAGE_CONNECTION_ID, VMBUS_MESSAGE_CONNECTION_ID_4 } from '../wire/versions.js';
import type { HostChannel, VmbusDevice } from './device.js';
import type { HostGuestAccess } from './host-access.js';
import {
  type ChannelOpening,
  channelRings,
  closeChannelMessage,
  hostChannel,
  openChannel,
} from './server-channels.js';
import { checkServerVersions, initiateContact, unload } from './server-connection.js';
import { ServerCore } from './server-core.js';
import { gpadlBody, gpadlHeader, gpadlsOf, gpadlTeardown } from './server-gpadls.js';
import { pollMonitors } from './server-monitor.js';
import { addChannel, relidReleased, requestOffers, rescindChannel } from './server-offers.js';
import {
  type ServerChannel,
  VMBUS_DEFAULT_MESSAGE_QUEUE_DEPTH,
  VMBUS_SERVER_VERSIONS,
  type VmbusConnection,
  type VmbusServerCounters,
  type VmbusServerOptions,
  type VmbusServerState,
} from './server-state.js';
import type { SynicHost } from './synic.js';
import type { EventConnection, SynicPorts } from './synic-hypercalls.js';

/** The VMBus server of one partition. */
export class VmbusServer {
  readonly #core: ServerCore;
  readonly versions: readonly number[];
  readonly messageQueueDepth: number;
  /** How the host reaches guest memory (through the shared aliases only, in an isolation VM). */
  readonly access: HostGuestAccess;
  readonly channels: Map<number, ServerChannel>;
  readonly counters: VmbusServerCounters;

  constructor(partition: HvPartition, synic: SynicHost, ports: SynicPorts, options: VmbusServerOptions) {
    const versions = options.versions ?? VMBUS_SERVER_VERSIONS;
    const messageQueueDepth = options.messageQueueDepth ?? VMBUS_DEFAULT_MESSAGE_QUEUE_DEPTH;
    if (!Number.isInteger(messageQueueDepth) || messageQueueDepth < 1) {
      throw new RangeError(
        `VMBus messageQueueDepth ${messageQueueDepth} is not accepted: use an integer ≥ 1`,
      );
    }
    checkServerVersions(versions);
    const core = new ServerCore(partition, synic, ports, versions, messageQueueDepth);
    this.#core = core;
    this.versions = versions;
    this.messageQueueDepth = messageQueueDepth;
    this.access = core.access;
    this.channels = core.channels;
    this.counters = core.counters;
    const handler = (vp: number, type: number, payload: Uint8Array) => this.#onMessage(vp, type, payload);
    ports.connectMessagePort(VMBUS_MESSAGE_CONNECTION_ID, handler);
    ports.connectMessagePort(VMBUS_MESSAGE_CONNECTION_ID_4, handler);
    for (const d of options.devices) this.addDevice(d);
  }

  /** The negotiated connection, or `null` before INITIATE_CONTACT and after UNLOAD. */
  get connection(): VmbusConnection | null {
    return this.#core.connection;
  }

  /** Adds a device as a new channel (and offers it at once when the guest is connected); returns its relid. */
  addDevice(device: VmbusDevice): number {
    return addChannel(this.#core, device);
  }

  /**
   * Rescinds a channel (host API): closes it if open (its event port is deleted) and sends
   * RESCIND_CHANNELOFFER; the relid is freed when the guest answers RELID_RELEASED.
   */
  rescind(relid: number): void {
    rescindChannel(this.#core, relid);
  }

  /**
   * Looks at the child→parent monitor page (host API; Hyper-V polls it on a timer): each open,
   * monitored channel whose pending bit is set has it cleared and is signalled. Returns how many.
   */
  pollMonitors(): number {
    return pollMonitors(this.#core);
  }

  /** The partition the server runs in. */
  get partition(): HvPartition {
    return this.#core.partition;
  }

  /** Every device, in the order it was added (the snapshot names devices by this index). */
  get devices(): readonly VmbusDevice[] {
    return this.#core.devices;
  }

  /** The server's state, for a snapshot (live objects: do not change them). */
  state(): VmbusServerState {
    const core = this.#core;
    return {
      connection: core.connection,
      channels: [...core.channels.values()],
      gpadls: [...core.gpadls.values()],
      nextRelid: core.nextRelid,
      nextMonitorId: core.nextMonitorId,
      counters: core.counters,
    };
  }

  /**
   * Replaces the server's state (a restore, checked beforehand): channels, GPADLs, the
   * connection, counters, and every channel's event port (live for open channels).
   */
  restoreState(s: VmbusServerState, eventConnections: readonly EventConnection[]): void {
    const core = this.#core;
    core.connection = s.connection;
    core.channels.clear();
    for (const ch of s.channels) core.channels.set(ch.relid, ch);
    core.gpadls.clear();
    for (const g of s.gpadls) core.gpadls.set(g.id, g);
    core.nextRelid = s.nextRelid;
    core.nextMonitorId = s.nextMonitorId;
    Object.assign(core.counters, s.counters);
    core.ports.replaceEventConnections(eventConnections, (id) => {
      const ch = [...core.channels.values()].find((c) => c.connectionId === id);
      return () => {
        if (ch) core.signalDevice(ch);
      };
    });
  }

  /**
   * The device's view of an open channel over `rings` (OPENCHANNEL, or a restore): signals go to
   * SINT 2 of `targetVp` with the channel's relid as the event flag.
   */
  hostChannel(ch: ServerChannel, open: ChannelOpening): HostChannel {
    return hostChannel(this.#core, ch, open);
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
    return channelRings(this.#core, relid, split, targetVp);
  }

  /** GPADL ids created (complete) for `relid`, for tests and traces. */
  gpadlsOf(relid: number): number[] {
    return gpadlsOf(this.#core, relid);
  }

  /** A channel message from the guest (HvCallPostMessage to connection 1 or 4), by kind. */
  #onMessage(vp: number, _type: number, payload: Uint8Array): HvStatusCode {
    const core = this.#core;
    const c = core.connection;
    if (c !== null && core.synic.pending(c.targetVcpu, c.messageSint) >= core.messageQueueDepth) {
      core.counters.refusedBusy++;
      return HvStatus.INSUFFICIENT_BUFFERS;
    }
    core.counters.messagesIn++;
    const type = channelMessageType(payload);
    if (type === null) {
      core.diagnose(vp, 'message.short', `a channel message of ${payload.length} bytes has no header`);
      return HvStatus.SUCCESS;
    }
    if (type !== ChannelMessageType.INITIATE_CONTACT && c === null) {
      core.diagnose(vp, 'message.not-connected', `${channelMessageTypeName(type)} before INITIATE_CONTACT`);
      return HvStatus.SUCCESS;
    }
    switch (type) {
      case ChannelMessageType.INITIATE_CONTACT:
        initiateContact(core, vp, payload);
        break;
      case ChannelMessageType.REQUESTOFFERS:
        requestOffers(core);
        break;
      case ChannelMessageType.GPADL_HEADER:
        gpadlHeader(core, vp, payload);
        break;
      case ChannelMessageType.GPADL_BODY:
        gpadlBody(core, vp, payload);
        break;
      case ChannelMessageType.OPENCHANNEL:
        openChannel(core, vp, payload);
        break;
      case ChannelMessageType.CLOSECHANNEL:
        closeChannelMessage(core, vp, payload);
        break;
      case ChannelMessageType.GPADL_TEARDOWN:
        gpadlTeardown(core, vp, payload);
        break;
      case ChannelMessageType.RELID_RELEASED:
        relidReleased(core, vp, payload);
        break;
      case ChannelMessageType.UNLOAD:
        unload(core);
        break;
      default:
        core.diagnose(
          vp,
          'message.unexpected',
          `${channelMessageTypeName(type)} is not a guest→host message pvlab serves`,
        );
    }
    return HvStatus.SUCCESS;
  }
}
