/**
 * Channel messages between the guest's VMBus driver and the host (Linux `vmbus_post_msg`,
 * `vmbus_on_msg_dpc`): out with HvCallPostMessage, retried while the host's queue toward the
 * guest is full; in from the SIMP slot of the message SINT. A message the driver is not waiting
 * for is kept, oldest first. In the direct harness the host has answered by the time the
 * hypercall returns, so polling the slot is enough; with `wait` set, an empty slot waits for the
 * next interrupt instead, up to `maxWaits` times.
 */
import { HvCallCode, HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import { channelMessageType, channelMessageTypeName } from '../wire/channel-messages.js';
import { PostMessageInput } from '../wire/synic.js';
import { VMBUS_HV_MESSAGE_TYPE } from '../wire/versions.js';
import type { VmbusClientOptions } from './client-types.js';
import { VmbusGuestError } from './vmbus-guest-error.js';

/** The driver's message link to the host (internal to `VmbusClient`). */
export class ChannelMessages {
  readonly #o: VmbusClientOptions;
  /** The connection id channel messages go to now (1 or 4, or the host's msg_conn_id from 5.0). */
  readonly #connectionId: () => number;
  /** Messages that arrived while waiting for another (e.g. RESCIND_CHANNELOFFER), oldest first. */
  readonly unsolicited: Uint8Array[] = [];

  constructor(options: VmbusClientOptions, connectionId: () => number) {
    this.#o = options;
    this.#connectionId = connectionId;
  }

  /** HvCallPostMessage of a channel message to `connectionId`, retried on INSUFFICIENT_BUFFERS. */
  post(bytes: Uint8Array, connectionId: number): HvStatusCode {
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
      this.drain();
    }
  }

  /** `post` to the current connection id, throwing a `VmbusGuestError` that names the message when the call fails. */
  send(bytes: Uint8Array): void {
    const status = this.post(bytes, this.#connectionId());
    if (status !== HvStatus.SUCCESS) {
      throw new VmbusGuestError(
        `${channelMessageTypeName(channelMessageType(bytes) ?? 0)}: HvCallPostMessage status 0x${status.toString(16)}`,
      );
    }
  }

  /** Moves every message waiting in the slot to `unsolicited`. */
  drain(): void {
    for (let m = this.#take(); m !== null; m = this.#take()) this.unsolicited.push(m);
  }

  #take(): Uint8Array | null {
    const m = this.#o.synic.pollMessage(this.#o.synic.sint);
    return m === null ? null : m.payload;
  }

  #maxWaits(): number {
    return this.#o.wait === undefined ? 0 : (this.#o.maxWaits ?? 1000);
  }

  /** The next message of type `type` (others are kept in `unsolicited`); throws when none comes. */
  awaitMessage(type: number): Uint8Array {
    const i = this.unsolicited.findIndex((m) => channelMessageType(m) === type);
    if (i >= 0) return this.unsolicited.splice(i, 1)[0]!;
    const maxWaits = this.#maxWaits();
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

  /** The next message of any type; throws when none comes. */
  awaitAny(): Uint8Array {
    const maxWaits = this.#maxWaits();
    for (let waits = 0; ; waits++) {
      const m = this.#take();
      if (m !== null) return m;
      if (waits >= maxWaits) throw new VmbusGuestError('no message from the host');
      this.#o.wait?.();
    }
  }

  /** The oldest kept message of one of `types`, else the next to arrive (others are kept). */
  awaitOneOf(types: readonly number[]): Uint8Array {
    const isWanted = (m: Uint8Array) => types.includes(channelMessageType(m) ?? -1);
    const i = this.unsolicited.findIndex(isWanted);
    if (i >= 0) return this.unsolicited.splice(i, 1)[0]!;
    for (;;) {
      const m = this.awaitAny();
      if (isWanted(m)) return m;
      this.unsolicited.push(m);
    }
  }
}
