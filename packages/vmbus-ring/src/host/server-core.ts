/**
 * What every part of the VMBus server works on: its state (the connection, channels, GPADLs,
 * counters) and its way back to the guest (`send`, diagnostics). Internal — `VmbusServer` is the
 * public face; the channel messages are handled per kind in the `server-*` modules, which share
 * this object instead of the server's private fields.
 */
import type { ByteFieldSpec, ByteStruct, ByteStructValues } from '@pvlab/hypercall';
import type { HvPartition } from '@pvlab/hypercall/host';
import { VMBUS_HV_MESSAGE_TYPE } from '../wire/versions.js';
import type { VmbusDevice } from './device.js';
import { HostGuestAccess } from './host-access.js';
import type { ServerChannel, ServerGpadl, VmbusConnection, VmbusServerCounters } from './server-state.js';
import type { SynicHost } from './synic.js';
import type { SynicPorts } from './synic-hypercalls.js';

/** The VMBus server's state and outbound side, shared by its message handlers. */
export class ServerCore {
  readonly partition: HvPartition;
  readonly synic: SynicHost;
  readonly ports: SynicPorts;
  readonly versions: readonly number[];
  readonly messageQueueDepth: number;
  /** How the host reaches guest memory (through the shared aliases only, in an isolation VM). */
  readonly access: HostGuestAccess;
  connection: VmbusConnection | null = null;
  readonly channels = new Map<number, ServerChannel>();
  readonly gpadls = new Map<number, ServerGpadl>();
  /** Every device, in the order it was added (the snapshot names devices by this index). */
  readonly devices: VmbusDevice[] = [];
  nextRelid = 1;
  nextMonitorId = 0;
  readonly counters: VmbusServerCounters = {
    messagesIn: 0,
    messagesOut: 0,
    ignored: 0,
    refusedBusy: 0,
    signals: 0,
  };

  constructor(
    partition: HvPartition,
    synic: SynicHost,
    ports: SynicPorts,
    versions: readonly number[],
    messageQueueDepth: number,
  ) {
    this.partition = partition;
    this.synic = synic;
    this.ports = ports;
    this.versions = versions;
    this.messageQueueDepth = messageQueueDepth;
    this.access = new HostGuestAccess(partition);
  }

  /** Counts a guest message (or access) the server did not act on, and diagnoses it under `rule`. */
  ignore(vp: number, rule: string, message: string): void {
    this.counters.ignored++;
    this.partition.diagnose(rule, vp, message);
  }

  /** `ignore` under a spec 04 rule (`spec04.<rule>`). */
  diagnose(vp: number, rule: string, message: string): void {
    this.ignore(vp, `spec04.${rule}`, message);
  }

  /** Posts a channel message to the connection's VP and SINT (nothing while not connected). */
  send(bytes: Uint8Array): void {
    const c = this.connection;
    if (c === null) return;
    this.counters.messagesOut++;
    this.synic.post(c.targetVcpu, c.messageSint, VMBUS_HV_MESSAGE_TYPE, bytes);
  }

  /** The message as `s`, or `null` (diagnosed) when the payload is too short for it. */
  decode<F extends readonly ByteFieldSpec[]>(
    vp: number,
    s: ByteStruct<F>,
    payload: Uint8Array,
  ): ByteStructValues<F> | null {
    const m = s.decode(payload);
    if (m === null)
      this.diagnose(vp, 'message.short', `${s.name}: ${payload.length} bytes, fewer than ${s.size}`);
    return m;
  }

  /** Hands a guest signal of an open channel to its device. */
  signalDevice(ch: ServerChannel): void {
    if (ch.open !== null) ch.device.signal(ch.open.host);
  }
}
