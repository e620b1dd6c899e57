import type { SnapshotData } from '@pvlab/hypercall/host';
import { RingControlWord, type RingMemory, VmPacketDescriptorOffset } from '@pvlab/vmbus-ring';
import type { HostChannel, VmbusDevice } from '@pvlab/vmbus-ring/host';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** What the hostile host tampers with in the rings it shares with the guest (spec 05 rule 10). */
export const HOSTILE_CORRUPTIONS = [
  /** The host→guest ring's write_index: anywhere, aligned or not, inside the ring or not. */
  'write-index',
  /** The guest→host ring's read_index (the guest's writer computes its free space from it). */
  'read-index',
  /** A packet the host just wrote: its descriptor fields. */
  'len8',
  'offset8',
  'type',
  'flags',
  /** A well-formed packet with someone else's transaction id. */
  'trans-id',
  /** The host→guest ring's pending_send_sz. */
  'pending-send-size',
] as const;
export type HostileCorruption = (typeof HOSTILE_CORRUPTIONS)[number];

/** One tampering, for tests and the run's summary. */
export interface HostileEvent {
  readonly kind: HostileCorruption;
  /** The channel's relid. */
  readonly relid: number;
  /** The value written. */
  readonly value: number;
}

/** Options of the hostile host. */
export interface HostileHostOptions {
  /** Seeds what is corrupted and when: the same seed, the same tampering. */
  readonly seed: number;
  /** Chance that a signal from the guest is answered with one corruption (default 0.25). */
  readonly rate?: number;
}

const { WRITE_INDEX, READ_INDEX, PENDING_SEND_SIZE } = RingControlWord;
/** The descriptor field each corruption kind rewrites (spec 04's layout, from the wire module). */
const DESCRIPTOR_FIELD = {
  type: VmPacketDescriptorOffset.TYPE,
  offset8: VmPacketDescriptorOffset.OFFSET8,
  len8: VmPacketDescriptorOffset.LEN8,
  flags: VmPacketDescriptorOffset.FLAGS,
  'trans-id': VmPacketDescriptorOffset.TRANS_ID,
} as const;

/**
 * The untrusted host of an isolation VM (spec 05 rule 10): a device wrapper that does the inner
 * device's work, then — at a seeded random — corrupts what the guest will read next in the shared
 * rings: an index, a descriptor field of a packet it just wrote, a transaction id, the pending
 * send size. The guest must survive every seed: treat what it reads as hostile, never read
 * outside its rings, never crash.
 */
export class HostileDevice implements VmbusDevice {
  readonly name: string;
  readonly interfaceType: Uint8Array;
  readonly interfaceInstance: Uint8Array;
  readonly monitored?: boolean;
  readonly events: HostileEvent[] = [];
  readonly #inner: VmbusDevice;
  readonly #rate: number;
  #rng: ReturnType<typeof xoroshiro128plus>;

  constructor(inner: VmbusDevice, options: HostileHostOptions) {
    const rate = options.rate ?? 0.25;
    if (!(rate >= 0 && rate <= 1))
      throw new RangeError(`hostile host rate ${rate}: use a number from 0 to 1`);
    this.#inner = inner;
    this.#rate = rate;
    this.#rng = xoroshiro128plus(options.seed | 0);
    this.name = `hostile ${inner.name}`;
    this.interfaceType = inner.interfaceType;
    this.interfaceInstance = inner.interfaceInstance;
    if (inner.monitored !== undefined) this.monitored = inner.monitored;
  }

  open(channel: HostChannel): void {
    this.#inner.open(channel);
  }

  close(channel: HostChannel): void {
    this.#inner.close(channel);
  }

  restored(channel: HostChannel): void {
    this.#inner.restored?.(channel);
  }

  saveState(): SnapshotData {
    return this.#inner.saveState?.() ?? null;
  }

  prepareRestore(data: SnapshotData, where: string): () => void {
    return this.#inner.prepareRestore?.(data, where) ?? (() => {});
  }

  signal(channel: HostChannel): void {
    const out = channel.writer.memory;
    const before = out.control[WRITE_INDEX]! >>> 0;
    this.#inner.signal(channel);
    if (this.#int(0, 1_000_000) >= this.#rate * 1_000_000) return;
    const kind = HOSTILE_CORRUPTIONS[this.#int(0, HOSTILE_CORRUPTIONS.length - 1)]!;
    const value = this.#corrupt(kind, channel, out, before);
    if (value !== undefined) {
      this.events.push({ kind, relid: channel.relid, value });
      // Make sure the guest looks: the tampered ring is announced like a real answer.
      channel.signalGuest();
    }
  }

  #int(min: number, max: number): number {
    return uniformInt(this.#rng, min, max);
  }

  /** A u32 that is sometimes sensible, sometimes misaligned, sometimes beyond the ring. */
  #index(size: number): number {
    switch (this.#int(0, 3)) {
      case 0:
        return this.#int(0, size / 8 - 1) * 8; // aligned, inside: a plausible lie
      case 1:
        return this.#int(0, size - 1) | 1; // misaligned
      case 2:
        return size + this.#int(0, 0xffff) * 8; // beyond the ring
      default:
        return this.#int(0, 0x7fff_ffff) * 2 + this.#int(0, 1); // anything
    }
  }

  #corrupt(
    kind: HostileCorruption,
    channel: HostChannel,
    out: RingMemory,
    packetAt: number,
  ): number | undefined {
    switch (kind) {
      case 'write-index': {
        const v = this.#index(out.dataSize);
        out.control[WRITE_INDEX] = v;
        return v;
      }
      case 'read-index': {
        const v = this.#index(channel.reader.memory.dataSize);
        channel.reader.memory.control[READ_INDEX] = v;
        return v;
      }
      case 'pending-send-size': {
        const v = this.#int(0, 0x7fff_ffff);
        out.control[PENDING_SEND_SIZE] = v;
        return v;
      }
      default: {
        // A packet written this round starts at the write index from before the round.
        if (out.control[WRITE_INDEX]! >>> 0 === packetAt || packetAt >= out.dataSize) return undefined;
        const field = DESCRIPTOR_FIELD[kind];
        const bytes = kind === 'trans-id' ? 8 : 2;
        const garbage = Uint8Array.from({ length: bytes }, () => this.#int(0, 255));
        // The descriptor may wrap: write byte by byte at ring offsets.
        for (let i = 0; i < bytes; i++)
          out.copyIn((packetAt + field + i) % out.dataSize, garbage.subarray(i, i + 1));
        return garbage[0]! | (garbage[1]! << 8);
      }
    }
  }
}
