/**
 * The writing side of one ring — spec 04 rules 4, 5 and 9 (Linux `hv_ringbuffer_write`,
 * `hv_signal_on_write`; openvmm `OutgoingRing`). Single producer: one `RingWriter` per ring.
 * The write index is the writer's own and kept in a local; the read index, interrupt mask and
 * feature bits are the peer's and are read once per use and validated.
 */
import { advanceIndex, bytesToWrite, writeFits } from '../wire/arithmetic.js';
import { RING_FEATURE_PENDING_SEND_SIZE, RingControlWord } from '../wire/control-page.js';
import {
  VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED,
  VMPACKET_DESCRIPTOR_SIZE,
  VMPACKET_MAX_LEN8,
  VMPACKET_MIN_OFFSET8,
  VMPACKET_TRAILER_SIZE,
  VmPacketDescriptorOffset,
  vmPacketFootprint,
  vmPacketLen8,
} from '../wire/packet.js';
import { checkRingIndex, type RingCorruptError } from '../wire/validate.js';
import { corrupt, type RingCorrupt, refusedAccess } from './results.js';
import type { RingMemory } from './ring-memory.js';

/** The descriptor fields a writer chooses (offset8 and len8 follow from the payload). */
export interface PacketHeader {
  /** VM_PKT_* (`VmPacketType`). */
  readonly type: number;
  /** Descriptor flags: 0 or `VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED` (default 0). */
  readonly flags?: number;
  /** trans_id (default 0n). */
  readonly transactionId?: bigint;
  /**
   * Where the data starts, in 8-byte units from the descriptor (default 2: right after it). The
   * bytes between are the first bytes of the payload (an extra header such as GPA_DIRECT's).
   */
  readonly offset8?: number;
}

/** The ring has no room for the packet now; `needed` is its footprint (packet + trailer). */
export interface RingFull {
  readonly ok: false;
  readonly reason: 'full';
  readonly needed: number;
}

/** A published packet; `signal`: interrupt the reader (rule 4). */
export interface WriteDone {
  readonly ok: true;
  readonly signal: boolean;
}

/** What `tryWrite` gives. */
export type WriteResult = WriteDone | RingFull | RingCorrupt;

/** What `reserve` gives. */
export type ReserveResult = WriteReservation | RingFull | RingCorrupt;

const SIGNAL: WriteDone = Object.freeze({ ok: true, signal: true });
const QUIET: WriteDone = Object.freeze({ ok: true, signal: false });
/** Packets up to this footprint are assembled in a scratch buffer and copied in once. */
const ASSEMBLE_BYTES = 1024;

/** Writes packets into a ring. */
export class RingWriter {
  readonly memory: RingMemory;
  readonly #control: Uint32Array;
  readonly #size: number;
  /** The writer's own write index: what it last published. */
  #writeIndex: number;
  #corrupt: RingCorrupt | null = null;
  #pendingSet = false;
  #reservation: WriteReservation | null = null;
  readonly #scratch = new Uint8Array(ASSEMBLE_BYTES);
  readonly #scratchView = new DataView(this.#scratch.buffer);

  /**
   * A writer over `memory`, continuing from the write index its control page holds, or from
   * `options` (a restored snapshot: the writer's own index and whether it had published
   * pending_send_sz, whatever memory says).
   */
  constructor(
    memory: RingMemory,
    options: { readonly writeIndex?: number; readonly pendingSendSizeSet?: boolean } = {},
  ) {
    this.memory = memory;
    this.#control = memory.control;
    this.#size = memory.dataSize;
    this.#writeIndex = options.writeIndex ?? Atomics.load(this.#control, RingControlWord.WRITE_INDEX);
    this.#pendingSet = options.pendingSendSizeSet ?? false;
    const bad = checkRingIndex('write_index', this.#writeIndex, this.#size);
    if (bad) this.#corrupt = corrupt(bad);
  }

  /** The write index last published. */
  get writeIndex(): number {
    return this.#writeIndex;
  }

  /** `true` while this writer has pending_send_sz published (it found the ring full). */
  get pendingSendSizeSet(): boolean {
    return this.#pendingSet;
  }

  /** Free bytes now (Linux `hv_get_bytes_to_write`); a packet fits if its footprint is smaller. 0 when corrupt. */
  get bytesFree(): number {
    if (this.#corrupt || this.#refused()) return 0;
    const r = Atomics.load(this.#control, RingControlWord.READ_INDEX);
    if (checkRingIndex('read_index', r, this.#size)) return 0;
    return bytesToWrite(this.#writeIndex, r, this.#size);
  }

  /** The largest payload (bytes after the descriptor) one packet can carry on this ring. */
  get maxPayload(): number {
    const maxPacket = Math.min(this.#size - 2 * VMPACKET_TRAILER_SIZE, VMPACKET_MAX_LEN8 * 8);
    return maxPacket - VMPACKET_DESCRIPTOR_SIZE;
  }

  /**
   * Writes one packet whose payload is `parts` back to back (a gather write), or returns `full`
   * with no byte written (rule 5: no partial packets). When the ring has feat_pending_send_sz,
   * a full ring also publishes pending_send_sz so that the reader signals once there is room.
   */
  tryWrite(parts: Uint8Array | readonly Uint8Array[], header: PacketHeader): WriteResult {
    const single = parts instanceof Uint8Array ? parts : null;
    const list = parts as readonly Uint8Array[];
    let payload = 0;
    if (single !== null) payload = single.length;
    else for (const p of list) payload += p.length;
    const len8 = this.#checkPacket(payload, header);
    const space = this.#claim(vmPacketFootprint(len8));
    if (space !== null) return space;
    const w = this.#writeIndex;
    const footprint = vmPacketFootprint(len8);
    const dv = this.memory.dataView;
    if (dv !== null && w + footprint <= this.#size) {
      // One contiguous stretch (the common case): write straight into the ring.
      const bytes = this.memory.dataBytes!;
      this.#encodeDescriptor(dv, w, header, len8);
      let at = w + VMPACKET_DESCRIPTOR_SIZE;
      if (single !== null) {
        bytes.set(single, at);
        at += single.length;
      } else {
        for (const p of list) {
          bytes.set(p, at);
          at += p.length;
        }
      }
      const end = w + len8 * 8;
      while (at < end) bytes[at++] = 0;
      dv.setUint32(end, 0, true);
      dv.setUint32(end + 4, w, true);
    } else if (footprint <= ASSEMBLE_BYTES) {
      // Small packets: one copy into the ring instead of three or more.
      const s = this.#scratch;
      this.#encodeDescriptor(this.#scratchView, 0, header, len8);
      let at = VMPACKET_DESCRIPTOR_SIZE;
      if (single !== null) {
        s.set(single, at);
        at += single.length;
      } else {
        for (const p of list) {
          s.set(p, at);
          at += p.length;
        }
      }
      const end = len8 * 8;
      s.fill(0, at, end);
      this.#scratchView.setUint32(end, 0, true);
      this.#scratchView.setUint32(end + 4, w, true);
      this.memory.copyIn(w, s.subarray(0, footprint));
    } else {
      this.#encodeDescriptor(this.#scratchView, 0, header, len8);
      this.memory.copyIn(w, this.#scratch.subarray(0, VMPACKET_DESCRIPTOR_SIZE));
      let at = advanceIndex(w, VMPACKET_DESCRIPTOR_SIZE, this.#size);
      for (const p of single !== null ? [single] : list) {
        if (p.length === 0) continue;
        this.memory.copyIn(at, p);
        at = advanceIndex(at, p.length, this.#size);
      }
      this.#writeTail(at, len8 * 8 - VMPACKET_DESCRIPTOR_SIZE - payload);
    }
    return this.#publish(footprint) ? SIGNAL : QUIET;
  }

  /**
   * Two-phase write: reserves room for a packet with `payloadBytes` after the descriptor and
   * writes the descriptor. Fill it with `write()`, then `commit()` (publish) or `revert()`
   * (nothing was published). One reservation at a time.
   */
  reserve(payloadBytes: number, header: PacketHeader): ReserveResult {
    if (!Number.isSafeInteger(payloadBytes) || payloadBytes < 0) {
      throw new RangeError(`payloadBytes ${payloadBytes} is not accepted: use a whole number of bytes ≥ 0`);
    }
    const len8 = this.#checkPacket(payloadBytes, header);
    const space = this.#claim(vmPacketFootprint(len8));
    if (space !== null) return space;
    this.#encodeDescriptor(this.#scratchView, 0, header, len8);
    this.memory.copyIn(this.#writeIndex, this.#scratch.subarray(0, VMPACKET_DESCRIPTOR_SIZE));
    const r = new WriteReservation(this, this.#writeIndex, payloadBytes, len8);
    this.#reservation = r;
    return r;
  }

  /** @internal The reservation's copy into the ring. */
  _copy(r: WriteReservation, at: number, bytes: Uint8Array): void {
    this.#own(r);
    if (this.#refused()) return; // the ring is gone: commit will not publish
    this.memory.copyIn(advanceIndex(r.offset, VMPACKET_DESCRIPTOR_SIZE + at, this.#size), bytes);
  }

  /** @internal Publishes a reservation: zero what was not written, the trailer, the index. */
  _commit(r: WriteReservation, written: number): boolean {
    this.#own(r);
    this.#reservation = null;
    if (this.#refused()) return false;
    const at = advanceIndex(r.offset, VMPACKET_DESCRIPTOR_SIZE + written, this.#size);
    this.#writeTail(at, r.len8 * 8 - VMPACKET_DESCRIPTOR_SIZE - written);
    return this.#publish(vmPacketFootprint(r.len8));
  }

  /** @internal Drops a reservation; the write index was never moved, so the peer saw nothing. */
  _revert(r: WriteReservation): void {
    this.#own(r);
    this.#reservation = null;
  }

  #own(r: WriteReservation): void {
    if (this.#reservation !== r) throw new Error('this reservation was already committed or reverted');
  }

  /** Checks the caller's header and size (user errors throw) and returns len8. */
  #checkPacket(payload: number, header: PacketHeader): number {
    if (this.#reservation !== null) {
      throw new Error('a reservation is open on this ring writer: commit() or revert() it first');
    }
    const { type, flags = 0 } = header;
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) {
      throw new RangeError(`packet type ${type} is not accepted: use a u16 (VmPacketType)`);
    }
    if (flags !== 0 && flags !== VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED) {
      throw new RangeError(`packet flags ${flags} is not accepted: use 0 or 1 (COMPLETION_REQUESTED)`);
    }
    const offset8 = header.offset8 ?? VMPACKET_MIN_OFFSET8;
    const len8 = vmPacketLen8(VMPACKET_DESCRIPTOR_SIZE, payload);
    if (!Number.isInteger(offset8) || offset8 < VMPACKET_MIN_OFFSET8 || offset8 > len8) {
      throw new RangeError(
        `packet offset8 ${offset8} is not accepted: use ${VMPACKET_MIN_OFFSET8}..${len8} for a ${payload}-byte payload`,
      );
    }
    if (payload > this.maxPayload) {
      throw new RangeError(
        `packet payload ${payload} bytes is not accepted: this ring carries at most ${this.maxPayload}`,
      );
    }
    return len8;
  }

  /** `null` when `footprint` bytes fit now (rule 4's space check), else why not. */
  #claim(footprint: number): RingFull | RingCorrupt | null {
    if (this.#corrupt) return this.#corrupt;
    const refused = this.#refused();
    if (refused) return refused;
    const c = this.#control;
    let r = this.#readIndex();
    if (typeof r !== 'number') return r;
    if (!writeFits(footprint, this.#writeIndex, r, this.#size)) {
      if ((Atomics.load(c, RingControlWord.FEATURE_BITS) & RING_FEATURE_PENDING_SEND_SIZE) === 0) {
        return { ok: false, reason: 'full', needed: footprint };
      }
      // Rule 5: publish what we need, then look again: the reader may have freed room before it
      // could see pending_send_sz, and would then never signal.
      Atomics.store(c, RingControlWord.PENDING_SEND_SIZE, footprint);
      this.#pendingSet = true;
      r = this.#readIndex();
      if (typeof r !== 'number') return r;
      if (!writeFits(footprint, this.#writeIndex, r, this.#size)) {
        return { ok: false, reason: 'full', needed: footprint };
      }
    }
    if (this.#pendingSet) {
      Atomics.store(c, RingControlWord.PENDING_SEND_SIZE, 0);
      this.#pendingSet = false;
    }
    return null;
  }

  /** The memory's access check (isolation VMs): the sticky corrupt result when it refuses. */
  #refused(): RingCorrupt | null {
    const check = this.memory.check;
    if (check === null) return null;
    if (this.#corrupt) return this.#corrupt;
    const error = refusedAccess(check);
    if (error === null) return null;
    this.#corrupt = corrupt(error);
    return this.#corrupt;
  }

  #readIndex(): number | RingCorrupt {
    const r = Atomics.load(this.#control, RingControlWord.READ_INDEX);
    const bad: RingCorruptError | null = checkRingIndex('read_index', r, this.#size);
    if (bad) {
      this.#corrupt = corrupt(bad);
      return this.#corrupt;
    }
    return r;
  }

  #encodeDescriptor(view: DataView, at: number, h: PacketHeader, len8: number): void {
    const flags = h.flags ?? 0;
    view.setUint16(at + VmPacketDescriptorOffset.TYPE, h.type, true);
    view.setUint16(at + VmPacketDescriptorOffset.OFFSET8, h.offset8 ?? VMPACKET_MIN_OFFSET8, true);
    view.setUint16(at + VmPacketDescriptorOffset.LEN8, len8, true);
    view.setUint16(at + VmPacketDescriptorOffset.FLAGS, flags, true);
    const id = h.transactionId;
    if (id === undefined || id === 0n) {
      view.setUint32(at + VmPacketDescriptorOffset.TRANS_ID, 0, true);
      view.setUint32(at + VmPacketDescriptorOffset.TRANS_ID + 4, 0, true);
    } else view.setBigUint64(at + VmPacketDescriptorOffset.TRANS_ID, BigInt.asUintN(64, id), true);
  }

  /** Zeroes `pad` bytes at `at`, then the trailer: the packet's start offset in the high half. */
  #writeTail(at: number, pad: number): void {
    if (pad > 0) this.memory.zero(at, pad);
    const v = this.#scratchView;
    v.setUint32(0, 0, true);
    v.setUint32(4, this.#writeIndex, true);
    this.memory.copyIn(advanceIndex(at, pad, this.#size), this.#scratch.subarray(0, VMPACKET_TRAILER_SIZE));
  }

  /** Rule 4: store the new write index, then signal only if unmasked and the ring was empty. */
  #publish(footprint: number): boolean {
    const c = this.#control;
    const old = this.#writeIndex;
    this.#writeIndex = advanceIndex(old, footprint, this.#size);
    // Atomics are sequentially consistent: the packet's bytes are visible before the index.
    Atomics.store(c, RingControlWord.WRITE_INDEX, this.#writeIndex);
    if (Atomics.load(c, RingControlWord.INTERRUPT_MASK) !== 0) return false;
    return Atomics.load(c, RingControlWord.READ_INDEX) === old;
  }
}

/** A reserved packet (see `RingWriter.reserve`): copy its payload in, then commit or revert. */
export class WriteReservation {
  readonly ok = true;
  readonly #writer: RingWriter;
  /** Ring offset of the descriptor. */
  readonly offset: number;
  /** Payload bytes reserved (after the descriptor). */
  readonly length: number;
  /** @internal */
  readonly len8: number;
  #written = 0;

  /** @internal Made by `RingWriter.reserve`. */
  constructor(writer: RingWriter, offset: number, length: number, len8: number) {
    this.#writer = writer;
    this.offset = offset;
    this.length = length;
    this.len8 = len8;
  }

  /** Payload bytes written so far. */
  get written(): number {
    return this.#written;
  }

  /** Appends `bytes` to the payload. Throws RangeError past the reserved length. */
  write(bytes: Uint8Array): this {
    if (this.#written + bytes.length > this.length) {
      throw new RangeError(
        `write of ${bytes.length} bytes is not accepted: ${this.length - this.#written} of the ${this.length} reserved bytes remain`,
      );
    }
    this.#writer._copy(this, this.#written, bytes);
    this.#written += bytes.length;
    return this;
  }

  /** Publishes the packet (unwritten payload bytes are zero); `true`: signal the reader. */
  commit(): boolean {
    return this.#writer._commit(this, this.#written);
  }

  /** Abandons the packet; the reader never sees it. */
  revert(): void {
    this.#writer._revert(this);
  }
}
