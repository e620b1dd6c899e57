/**
 * Synthetic devices behind VMBus channels: the `VmbusDevice` interface the server offers and
 * drives, the `HostChannel` an open channel gives it (its two rings and the guest signal), and
 * `EchoDevice`, which answers every in-band packet.
 */
import {
  readSnapshotCount,
  readSnapshotObject,
  type SnapshotData,
  SnapshotError,
  showSnapshotValue,
  snapshotCount,
  snapshotFieldError,
} from '@pvlab/hypercall/host';
import type { RingReader } from '../ring/ring-reader.js';
import type { RingWriter } from '../ring/ring-writer.js';
import { ECHO_DEVICE_INTERFACE_TYPE } from '../wire/devices.js';
import { decodeGpaDirectRanges, type GpaDirectRange } from '../wire/gpa-direct.js';
import { guidBytes } from '../wire/guid.js';
import { VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED, VmPacketType } from '../wire/packet.js';
import { RING_CORRUPT_KINDS, RingCorruptError, type RingCorruptKind } from '../wire/validate.js';
import type { HostRefusal } from './host-access.js';

/** An open channel as its device sees it. */
export interface HostChannel {
  readonly relid: number;
  readonly connectionId: number;
  /** The VP the guest named in OPENCHANNEL: host→guest signals go to its SINT 2. */
  readonly targetVp: number;
  readonly openId: number;
  readonly userData: Uint8Array;
  /** Reads the guest→host ring. */
  readonly reader: RingReader;
  /** Writes the host→guest ring. */
  readonly writer: RingWriter;
  /** Signals the guest: sets the channel's event flag (child_relid) and asserts SINT 2 on targetVp. */
  signalGuest(): void;
  /**
   * Reads the guest memory a GPA-direct range names, the way GPADL pages are reached (through
   * the shared alias of host-visible pages only, in an isolation VM): the bytes, or the refusal,
   * which is already diagnosed (`spec05.gpa-direct-page`, or `spec04.gpa-direct.not-ram`) and in
   * the isolation trace.
   */
  readGuestRange(range: GpaDirectRange): Uint8Array | HostRefusal;
}

/** A synthetic device: what it offers, and what it does when its channel opens, is signalled, closes. */
export interface VmbusDevice {
  /** For traces and errors. */
  readonly name: string;
  /** OFFERCHANNEL if_type (16 wire bytes). */
  readonly interfaceType: Uint8Array;
  /** OFFERCHANNEL if_instance (16 wire bytes). */
  readonly interfaceInstance: Uint8Array;
  /** Offer a monitor id (the guest then signals through the monitor page, spec 04 rule 12). */
  readonly monitored?: boolean;
  /** The channel opened: its rings are ready. */
  open(channel: HostChannel): void;
  /** The guest signalled the channel (HvCallSignalEvent, or its monitor bit when the host polled). */
  signal(channel: HostChannel): void;
  /** The channel closed (CLOSECHANNEL, rescind or UNLOAD): drop the rings. */
  close(channel: HostChannel): void;
  /** A snapshot was restored with the channel open: its rebuilt rings (instead of `open`). */
  restored?(channel: HostChannel): void;
  /** The device's own state for the `vmbus-ring` snapshot part (JSON-safe); none when stateless. */
  saveState?(): SnapshotData;
  /**
   * Checks saved state (a SnapshotError naming `where` and the field when it is not acceptable)
   * and returns what applies it; nothing changes until that is called.
   */
  prepareRestore?(data: SnapshotData, where: string): () => void;
}

/** What an `EchoDevice` has done. */
export interface EchoCounters {
  packets: number;
  /** Payload bytes echoed (as the packets carry them, padding included). */
  bytes: number;
  /** `performance.now()` of the first and the last echo (for a throughput figure; 0 before). */
  firstEchoMs: number;
  lastEchoMs: number;
  completions: number;
  /** Times the host→guest ring was full and the device waited for the guest. */
  stalls: number;
}

/** Milliseconds rounded to 1/1024: sums and differences of such values are exact. */
function toTick(ms: number): number {
  return Math.round(ms * 1024) / 1024;
}

/**
 * Answers each in-band packet (VM_PKT_DATA_INBAND) on the host→guest ring: with a completion
 * (VM_PKT_COMP, the request's trans_id, the same payload) when it asks for one
 * (COMPLETION_REQUESTED), else with an in-band packet carrying the same payload and trans_id.
 * A GPA-direct packet (type 9) is answered the same way with the bytes its ranges name, read from
 * guest memory (its in-band data is not echoed); hostile ranges or a page the host may not read
 * stop the device like a corrupt ring (`corrupt`), answering nothing for that packet.
 * Other packet types are consumed and ignored. A full ring stops the drain with the packet left
 * unread (the writer has published pending_send_sz); the guest's read signal resumes it.
 */
export class EchoDevice implements VmbusDevice {
  readonly name: string;
  readonly interfaceType = guidBytes(ECHO_DEVICE_INTERFACE_TYPE);
  readonly interfaceInstance: Uint8Array;
  readonly monitored: boolean;
  readonly counters: EchoCounters = {
    packets: 0,
    bytes: 0,
    firstEchoMs: 0,
    lastEchoMs: 0,
    completions: 0,
    stalls: 0,
  };
  /** The first corruption either ring reported; the device stops using the channel after it. */
  corrupt: RingCorruptError | null = null;

  constructor(options: { name?: string; instance?: string; monitored?: boolean } = {}) {
    this.name = options.name ?? 'echo';
    this.interfaceInstance = guidBytes(options.instance ?? '00000000-0000-0000-0000-000000000001');
    this.monitored = options.monitored ?? false;
  }

  open(): void {
    this.corrupt = null;
  }

  /**
   * `{ counters: { packets, bytes, completions, stalls, echoSpanMs }, corrupt: null | { kind,
   * detail } }`. The echo times are `performance.now()` of this process, so the snapshot keeps
   * their span (rounded to 1/1024 ms): a restore ends it now.
   */
  saveState(): SnapshotData {
    const c = this.counters;
    return {
      counters: {
        packets: snapshotCount(c.packets),
        bytes: snapshotCount(c.bytes),
        completions: snapshotCount(c.completions),
        stalls: snapshotCount(c.stalls),
        echoSpanMs: toTick(c.lastEchoMs - c.firstEchoMs),
      },
      corrupt: this.corrupt === null ? null : { kind: this.corrupt.kind, detail: this.corrupt.detail },
    };
  }

  prepareRestore(data: SnapshotData, where: string): () => void {
    const o = readSnapshotObject(data, where, ['counters', 'corrupt']);
    const raw = readSnapshotObject(o.counters, `${where}.counters`, [
      'packets',
      'bytes',
      'completions',
      'stalls',
      'echoSpanMs',
    ]);
    const count = (k: 'packets' | 'bytes' | 'completions' | 'stalls') =>
      readSnapshotCount(raw[k], `${where}.counters.${k}`);
    const counts = {
      packets: count('packets'),
      bytes: count('bytes'),
      completions: count('completions'),
      stalls: count('stalls'),
    };
    const span = raw.echoSpanMs;
    // At most 2^40 ms (35 years): `now - span` keeps its 1/1024 steps, so the span saves back exactly.
    if (typeof span !== 'number' || !(span >= 0 && span <= 2 ** 40) || span !== toTick(span)) {
      throw snapshotFieldError(`${where}.counters.echoSpanMs`, span, 'milliseconds 0..2^40 in 1/1024 steps');
    }
    let corrupt: RingCorruptError | null = null;
    if (o.corrupt !== null) {
      const c = readSnapshotObject(o.corrupt, `${where}.corrupt`, ['kind', 'detail']);
      if (!RING_CORRUPT_KINDS.includes(c.kind as RingCorruptKind)) {
        throw new SnapshotError(
          `${where}.corrupt.kind = ${showSnapshotValue(c.kind)}: expected one of ${RING_CORRUPT_KINDS.join(', ')}`,
        );
      }
      if (typeof c.detail !== 'string' || c.detail.length > 1000)
        throw snapshotFieldError(`${where}.corrupt.detail`, c.detail, 'text of at most 1000 characters');
      corrupt = new RingCorruptError(c.kind as RingCorruptKind, c.detail);
    }
    return () => {
      Object.assign(this.counters, counts);
      // The span ends now: a throughput figure after the restore stays meaningful.
      const now = counts.packets > 0 ? toTick(performance.now()) : 0;
      this.counters.lastEchoMs = now;
      this.counters.firstEchoMs = counts.packets > 0 ? now - span : 0;
      this.corrupt = corrupt;
    };
  }

  close(): void {}

  signal(channel: HostChannel): void {
    if (this.corrupt) return;
    let signalGuest = false;
    for (;;) {
      const p = channel.reader.read();
      if (!p.ok) {
        if (p.reason === 'corrupt') this.corrupt = p.error;
        break;
      }
      let answer: Uint8Array | readonly Uint8Array[] = p.payload;
      if (p.type === VmPacketType.DATA_USING_GPA_DIRECT) {
        const read = this.#readGpaDirect(channel, p.extraHeader, channel.writer.maxPayload);
        if (read instanceof RingCorruptError) {
          // Like a corrupt ring: the packet stays unread and the channel is not used again.
          this.corrupt = read;
          channel.reader.revert();
          break;
        }
        answer = read;
      } else if (p.type !== VmPacketType.DATA_INBAND) {
        if (channel.reader.commit()) signalGuest = true;
        continue;
      }
      let length = 0;
      for (const part of answer instanceof Uint8Array ? [answer] : answer) length += part.length;
      const completion = (p.flags & VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED) !== 0;
      const w = channel.writer.tryWrite(answer, {
        type: completion ? VmPacketType.COMP : VmPacketType.DATA_INBAND,
        transactionId: p.transactionId,
      });
      if (!w.ok) {
        channel.reader.revert();
        if (w.reason === 'corrupt') this.corrupt = w.error;
        else this.counters.stalls++;
        break;
      }
      const c = this.counters;
      c.packets++;
      c.bytes += length;
      c.lastEchoMs = performance.now();
      if (c.firstEchoMs === 0) c.firstEchoMs = c.lastEchoMs;
      if (completion) c.completions++;
      if (w.signal) signalGuest = true;
      if (channel.reader.commit()) signalGuest = true;
    }
    if (signalGuest) channel.signalGuest();
  }

  /**
   * The bytes a GPA-direct packet's ranges name, in order, read from guest memory; or why not:
   * hostile range values, more bytes than one answer carries (`gpa-too-many-pages`), or a page
   * the host may not read (`access-refused`, already diagnosed by the channel).
   */
  #readGpaDirect(
    channel: HostChannel,
    extraHeader: Uint8Array,
    maxBytes: number,
  ): Uint8Array[] | RingCorruptError {
    const decoded = decodeGpaDirectRanges(extraHeader);
    if (!decoded.ok) return decoded.error;
    let total = 0;
    for (const r of decoded.ranges) total += r.length;
    if (total > maxBytes) {
      return new RingCorruptError(
        'gpa-too-many-pages',
        `VM_PKT_DATA_USING_GPA_DIRECT: ${total} bytes in ${decoded.ranges.length} range(s), more than the ${maxBytes} one answer carries`,
      );
    }
    const parts: Uint8Array[] = [];
    for (const [i, range] of decoded.ranges.entries()) {
      const bytes = channel.readGuestRange(range);
      if (!(bytes instanceof Uint8Array)) {
        return new RingCorruptError('access-refused', `GPA-direct range ${i}: ${bytes.message}`);
      }
      parts.push(bytes);
    }
    return parts;
  }
}
