/**
 * HvCallPostMessage (0x005C) and HvCallSignalEvent (0x005D) and the connections they address
 * (TLFS hypercall pages; KVM `kvm_hvcall_signal_event`; QEMU hw/hyperv `hyperv_hcall_post_message`).
 * A connection id names a host port: a message port takes posted messages, an event port takes
 * signals. Statuses, in the order they are checked, are in the package README.
 */
import { HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import {
  defineHypercall,
  hex64,
  requireFeatures,
  type SimpleHypercallDescriptor,
} from '@pvlab/hypercall/host';
import {
  HV_MESSAGE_PAYLOAD_BYTES,
  HV_MESSAGE_TYPE_HYPERVISOR_MASK,
  PostMessageInput,
  SignalEventInput,
  SignalEventValue,
} from '../wire/synic.js';

const {
  connectionId,
  reserved,
  messageType,
  payloadSize,
  payload: payloadField,
} = PostMessageInput.accessors;
const signalValue = SignalEventInput.accessors.value;

/** Takes a message posted to a connection; returns SUCCESS or INSUFFICIENT_BUFFERS. */
/** Returns a status with the reason it was chosen (a call's `fail`, or nothing outside a call). */
type FailWith = (status: HvStatusCode, reason: string) => HvStatusCode;
const noReason: FailWith = (status) => status;

export type MessagePortHandler = (vp: number, messageType: number, payload: Uint8Array) => HvStatusCode;
/** Takes a signal on a connection (flag number already checked). */
export type EventPortHandler = (vp: number, flagNumber: number) => void;

/** An event connection as a snapshot sees it (the handler is the server's to give back). */
export interface EventConnection {
  readonly connectionId: number;
  readonly flagCount: number;
  /** Deleted ports answer INVALID_PORT_ID until the connection is forgotten or reconnected. */
  readonly deleted: boolean;
}

interface EventPort {
  handler: EventPortHandler;
  flagCount: number;
  deleted: boolean;
}

/** The handler a deleted port keeps: it is never called (signals get INVALID_PORT_ID). */
const NO_HANDLER: EventPortHandler = () => {};

/** The host's ports by connection id. */
export class SynicPorts {
  readonly #messages = new Map<number, MessagePortHandler>();
  readonly #events = new Map<number, EventPort>();

  /** Connects a message port. A second port on the same id is a host bug. */
  connectMessagePort(connectionId: number, handler: MessagePortHandler): void {
    if (this.#messages.has(connectionId))
      throw new Error(`message connection ${connectionId} already has a port`);
    this.#messages.set(connectionId, handler);
  }

  /** Connects (or reconnects) an event port with `flagCount` flags (1 for a VMBus channel). */
  connectEventPort(connectionId: number, handler: EventPortHandler, flagCount = 1): void {
    if (this.#events.get(connectionId)?.deleted === false) {
      throw new Error(`event connection ${connectionId} already has a port`);
    }
    this.#events.set(connectionId, { handler, flagCount, deleted: false });
  }

  /** Deletes the event port: signals on the connection then get INVALID_PORT_ID. */
  deleteEventPort(connectionId: number): void {
    const port = this.#events.get(connectionId);
    if (port) port.deleted = true;
  }

  /** Forgets a connection entirely: INVALID_CONNECTION_ID again. */
  forgetEventConnection(connectionId: number): void {
    this.#events.delete(connectionId);
  }

  /** `true` while the event connection has a live port. */
  hasEventPort(connectionId: number): boolean {
    return this.#events.get(connectionId)?.deleted === false;
  }

  /** Message connection ids, ascending. */
  messageConnections(): number[] {
    return [...this.#messages.keys()].sort((a, b) => a - b);
  }

  /** Every event connection, ascending by id. */
  eventConnections(): EventConnection[] {
    return [...this.#events]
      .sort(([a], [b]) => a - b)
      .map(([connectionId, p]) => ({ connectionId, flagCount: p.flagCount, deleted: p.deleted }));
  }

  /**
   * Replaces every event connection with `connections` (a restore); each live one gets
   * `handlerFor(connectionId)`.
   */
  replaceEventConnections(
    connections: readonly EventConnection[],
    handlerFor: (connectionId: number) => EventPortHandler,
  ): void {
    this.#events.clear();
    for (const c of connections) {
      this.#events.set(c.connectionId, {
        handler: c.deleted ? NO_HANDLER : handlerFor(c.connectionId),
        flagCount: c.flagCount,
        deleted: c.deleted,
      });
    }
  }

  /** HvCallPostMessage's checks after the dispatcher's, in order. */
  post(vp: number, input: DataView, fail: FailWith = noReason): HvStatusCode {
    if (reserved.get(input) !== 0) return fail(HvStatus.INVALID_HYPERCALL_INPUT, 'RsvdZ field set');
    const size = payloadSize.get(input);
    if (size > HV_MESSAGE_PAYLOAD_BYTES)
      return fail(HvStatus.INVALID_PARAMETER, `PayloadSize ${size} is above ${HV_MESSAGE_PAYLOAD_BYTES}`);
    const type = messageType.get(input);
    if (type === 0 || (type & HV_MESSAGE_TYPE_HYPERVISOR_MASK) !== 0)
      return fail(
        HvStatus.INVALID_PARAMETER,
        `MessageType 0x${type.toString(16)} is 0 or reserved for the hypervisor`,
      );
    const id = connectionId.get(input);
    const port = this.#messages.get(id);
    if (port === undefined)
      return fail(HvStatus.INVALID_CONNECTION_ID, `no message port has connection id ${id}`);
    const off = input.byteOffset + payloadField.offset;
    const payload = new Uint8Array(input.buffer.slice(off, off + size));
    const status = port(vp, type, payload);
    return status === HvStatus.SUCCESS
      ? status
      : fail(status, `connection ${id} refused message type 0x${type.toString(16)}`);
  }

  /** HvCallSignalEvent's checks after the dispatcher's, in order. */
  signal(vp: number, value: bigint, fail: FailWith = noReason): HvStatusCode {
    if (SignalEventValue.reservedZeroBits(value) !== 0n)
      return fail(HvStatus.INVALID_HYPERCALL_INPUT, 'RsvdZ bits 63:48 set');
    const f = SignalEventValue.decode(value);
    const port = this.#events.get(f.ConnectionId);
    if (port === undefined)
      return fail(HvStatus.INVALID_CONNECTION_ID, `no event port has connection id ${f.ConnectionId}`);
    if (port.deleted)
      return fail(HvStatus.INVALID_PORT_ID, `the port of connection ${f.ConnectionId} was deleted`);
    if (f.FlagNumber >= port.flagCount)
      return fail(
        HvStatus.INVALID_PARAMETER,
        `FlagNumber ${f.FlagNumber} is not below the port's ${port.flagCount} flags`,
      );
    port.handler(vp, f.FlagNumber);
    return HvStatus.SUCCESS;
  }
}

/** HvCallPostMessage (0x005C): simple, 256-byte input, memory form only, gated by PostMessages. */
export function postMessage(ports: SynicPorts): SimpleHypercallDescriptor {
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallPostMessage',
    input: PostMessageInput,
    fast: 'none',
    gate: requireFeatures('PostMessages'),
    describe: {
      input: (v) => ({
        connectionId: connectionId.get(v.input),
        messageType: hex64(messageType.get(v.input)),
        payloadSize: payloadSize.get(v.input),
      }),
    },
    handler: (call) => ports.post(call.vp, call.input, call.fail),
  });
}

/** HvCallSignalEvent (0x005D): simple, 8-byte input, register fast form (Linux's), gated by SignalEvents. */
export function signalEvent(ports: SynicPorts): SimpleHypercallDescriptor {
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallSignalEvent',
    input: SignalEventInput,
    fast: 'register',
    gate: requireFeatures('SignalEvents'),
    describe: {
      input(v) {
        const value = signalValue.get(v.input);
        const f = SignalEventValue.decode(value);
        const rsvdZ = SignalEventValue.reservedZeroBits(value);
        return {
          connectionId: f.ConnectionId,
          flagNumber: f.FlagNumber,
          ...(rsvdZ !== 0n ? { rsvdZ: hex64(rsvdZ >> 48n) } : {}),
        };
      },
    },
    handler: (call) => ports.signal(call.vp, signalValue.get(call.input), call.fail),
  });
}
