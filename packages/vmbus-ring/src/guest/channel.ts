import type { HvStatusCode } from '@pvlab/hypercall';
import type { DoubleMappedRingView } from '@pvlab/hypercall/guest';
import type { RingReader } from '../ring/ring-reader.js';
import type { PacketHeader, RingWriter } from '../ring/ring-writer.js';
import { encodeGpaDirectRanges, type GpaDirectRange } from '../wire/gpa-direct.js';
import { VMPACKET_DESCRIPTOR_SIZE, VmPacketType } from '../wire/packet.js';
import type { RingCorruptError } from '../wire/validate.js';
import type { GuestOffer } from './client-types.js';

/** A packet the guest received, copied out of the ring. */
export interface ReceivedPacket {
  readonly type: number;
  readonly flags: number;
  readonly transactionId: bigint;
  /** The payload with its padding to 8 bytes. */
  readonly payload: Uint8Array;
}

/** What `sendPacket` did. */
export type SendOutcome =
  | { readonly ok: true; readonly signalled: boolean; readonly status?: HvStatusCode }
  | { readonly ok: false; readonly reason: 'full'; readonly needed: number }
  | { readonly ok: false; readonly reason: 'corrupt'; readonly error: RingCorruptError };

/** An open channel on the guest side: the guest→host ring's writer, the host→guest ring's reader. */
export class GuestChannel {
  readonly offer: GuestOffer;
  readonly gpadl: number;
  readonly writer: RingWriter;
  readonly reader: RingReader;
  /** The GPADL's PFNs: [guest→host ring…, host→guest ring…]. */
  readonly ringPfns: readonly bigint[];
  /**
   * Isolation VM: the guest's double mappings ([header, data…, data…] through the alias) of the
   * guest→host and host→guest rings; `null` in an ordinary VM.
   */
  readonly mappings: readonly [DoubleMappedRingView, DoubleMappedRingView] | null;
  readonly #signal: () => HvStatusCode;
  /** Signals sent to the host (for tests and traces). */
  signals = 0;
  /** The first corruption the inbound ring reported. */
  corrupt: RingCorruptError | null = null;

  constructor(o: {
    offer: GuestOffer;
    gpadl: number;
    writer: RingWriter;
    reader: RingReader;
    signalHost: () => HvStatusCode;
    ringPfns?: readonly bigint[];
    mappings?: readonly [DoubleMappedRingView, DoubleMappedRingView];
  }) {
    this.ringPfns = o.ringPfns ?? [];
    this.mappings = o.mappings ?? null;
    this.offer = o.offer;
    this.gpadl = o.gpadl;
    this.writer = o.writer;
    this.reader = o.reader;
    this.#signal = o.signalHost;
  }

  get relid(): number {
    return this.offer.relid;
  }

  /** Signals the host (spec 04 rule 12) and returns the HvCallSignalEvent status. */
  signalHost(): HvStatusCode {
    this.signals++;
    return this.#signal();
  }

  /**
   * `vmbus_sendpacket`: one packet on the guest→host ring; signals the host when the ring says so
   * (it was empty and the host is not masked, spec 04 rule 4). A full ring writes nothing.
   */
  sendPacket(payload: Uint8Array | readonly Uint8Array[], header: PacketHeader): SendOutcome {
    const w = this.writer.tryWrite(payload, header);
    if (!w.ok) return w;
    if (!w.signal) return { ok: true, signalled: false };
    return { ok: true, signalled: true, status: this.signalHost() };
  }

  /**
   * `vmbus_sendpacket_mpb_desc`: one VM_PKT_DATA_USING_GPA_DIRECT packet naming guest memory by
   * `ranges` (plain PFNs — in an isolation VM the host adds the boundary, spec 05 rule 15, so a
   * bounce buffer is named by its pool's private PFNs), with optional in-band `payload` after the
   * ranges. Throws a RangeError for a range that is not well formed (see `encodeGpaDirectRanges`).
   */
  sendGpaDirect(
    ranges: readonly GpaDirectRange[],
    header: { readonly flags?: number; readonly transactionId?: bigint } = {},
    payload: Uint8Array = new Uint8Array(0),
  ): SendOutcome {
    const extra = encodeGpaDirectRanges(ranges);
    return this.sendPacket([extra, payload], {
      type: VmPacketType.DATA_USING_GPA_DIRECT,
      offset8: (VMPACKET_DESCRIPTOR_SIZE + extra.length) / 8,
      ...(header.flags === undefined ? {} : { flags: header.flags }),
      ...(header.transactionId === undefined ? {} : { transactionId: header.transactionId }),
    });
  }

  /**
   * Reads up to `max` packets from the host→guest ring (copies), publishes the read index, and
   * signals the host when that frees the space its blocked writer asked for (spec 04 rule 7).
   */
  receivePackets(max = Number.POSITIVE_INFINITY): ReceivedPacket[] {
    const out: ReceivedPacket[] = [];
    while (out.length < max) {
      const p = this.reader.read();
      if (!p.ok) {
        if (p.reason === 'corrupt') this.corrupt ??= p.error;
        break;
      }
      out.push({ type: p.type, flags: p.flags, transactionId: p.transactionId, payload: p.payload.slice() });
    }
    if (out.length > 0 && this.reader.commit()) this.signalHost();
    return out;
  }
}
