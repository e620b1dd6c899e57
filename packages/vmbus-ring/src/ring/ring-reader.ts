/**
 * The reading side of one ring — spec 04 rules 3, 6, 7, 8 and 11 (Linux `hv_pkt_iter_*`,
 * `hv_begin_read`/`hv_end_read`; openvmm `IncomingRing`, `parse_packet`). Single consumer.
 * The writer is untrusted: the write index, the descriptor and the extra header are each read
 * once into a local and validated before use, so a corrupt ring gives `RingCorruptError` and
 * never an out-of-bounds access, an exception or a loop that does not end.
 */
import { advanceIndex, bytesToRead, bytesToWrite } from '../wire/arithmetic.js';
import { RING_FEATURE_PENDING_SEND_SIZE, RingControlWord } from '../wire/control-page.js';
import {
  GPA_DIRECT_RANGE_COUNT_OFFSET,
  VMPACKET_DESCRIPTOR_SIZE,
  VMPACKET_MIN_FOOTPRINT,
  VMPACKET_MIN_OFFSET8,
  VMPACKET_TRAILER_SIZE,
  VmPacketDescriptorOffset,
  VmPacketType,
  vmPacketFootprint,
} from '../wire/packet.js';
import { checkRingIndex, RingCorruptError, validatePacket } from '../wire/validate.js';
import { corrupt, type RingCorrupt, refusedAccess } from './results.js';
import type { RingMemory } from './ring-memory.js';

/**
 * One packet read from the ring. `bytes` and `payload` are views into the ring when the packet
 * neither wraps nor crosses a gap between guest pages (zero-copy), else into the reader's
 * scratch buffer; either way they are valid until the reader's next `commit()`. They are made on
 * first use: `view` and `viewOffset` reach the same bytes without allocating. A reader returns
 * the same packet object from every `read()`, refilled: copy what you keep past the next read.
 */
export class RingPacket {
  readonly ok = true;
  #bytes: Uint8Array | null = null;
  /** VM_PKT_* */
  type = 0;
  flags = 0;
  transactionId = 0n;
  offset8 = 0;
  len8 = 0;
  /** Ring offset of the descriptor. */
  offset = 0;
  /** A DataView holding the packet at `viewOffset` (the ring's data area, or the scratch copy). */
  view: DataView = EMPTY_VIEW;
  viewOffset = 0;
  /** `true` when the packet was copied (it wrapped or crossed non-contiguous pages). */
  copied = false;

  /** @internal The reader refills its one packet object on every read (no allocation per packet). */
  set(
    type: number,
    flags: number,
    transactionId: bigint,
    offset8: number,
    len8: number,
    offset: number,
    view: DataView,
    viewOffset: number,
    copied: boolean,
  ): this {
    this.type = type;
    this.flags = flags;
    this.transactionId = transactionId;
    this.offset8 = offset8;
    this.len8 = len8;
    this.offset = offset;
    this.view = view;
    this.viewOffset = viewOffset;
    this.copied = copied;
    this.#bytes = null;
    return this;
  }

  /** The whole packet: descriptor, extra header, payload and padding (len8 × 8 bytes). */
  get bytes(): Uint8Array {
    this.#bytes ??= new Uint8Array(this.view.buffer, this.view.byteOffset + this.viewOffset, this.len8 * 8);
    return this.#bytes;
  }

  /** The data after offset8 × 8 (payload and its padding to 8 bytes). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.offset8 * 8);
  }

  /** The bytes between the descriptor and the data (e.g. GPA_DIRECT's range header). */
  get extraHeader(): Uint8Array {
    return this.bytes.subarray(VMPACKET_DESCRIPTOR_SIZE, this.offset8 * 8);
  }
}

/** Nothing to read. */
export interface RingEmpty {
  readonly ok: false;
  readonly reason: 'empty';
}

/** What `read` gives. */
export type ReadResult = RingPacket | RingEmpty | RingCorrupt;

const EMPTY: RingEmpty = Object.freeze({ ok: false, reason: 'empty' });
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

/** Reads packets from a ring. */
export class RingReader {
  readonly memory: RingMemory;
  readonly #control: Uint32Array;
  readonly #size: number;
  /** Private read index: advanced by `read`, published by `commit` (rule 6). */
  #readIndex: number;
  /** The one packet object `read` refills (valid until the next `read` or `commit`). */
  readonly #packet = new RingPacket();
  /** The read index last published. */
  #published: number;
  #corrupt: RingCorrupt | null = null;
  readonly #desc = new Uint8Array(VMPACKET_DESCRIPTOR_SIZE + 8);
  readonly #descView = new DataView(this.#desc.buffer);
  #scratch = new Uint8Array(0);
  #scratchView = new DataView(this.#scratch.buffer);

  /**
   * A reader over `memory`, continuing from the read index its control page holds, or from
   * `options.readIndex` (a restored snapshot: the host's own index, whatever memory says).
   */
  constructor(memory: RingMemory, options: { readonly readIndex?: number } = {}) {
    this.memory = memory;
    this.#control = memory.control;
    this.#size = memory.dataSize;
    this.#readIndex = options.readIndex ?? Atomics.load(this.#control, RingControlWord.READ_INDEX);
    this.#published = this.#readIndex;
    const bad = checkRingIndex('read_index', this.#readIndex, this.#size);
    if (bad) this.#corrupt = corrupt(bad);
  }

  /** The read index last published (what a snapshot keeps: unpublished reads are read again). */
  get readIndex(): number {
    return this.#published;
  }

  /** Bytes the writer has published beyond the private read index (0 when the ring is corrupt). */
  get bytesAvailable(): number {
    if (this.#refused()) return 0;
    const w = Atomics.load(this.#control, RingControlWord.WRITE_INDEX);
    if (this.#corrupt || checkRingIndex('write_index', w, this.#size)) return 0;
    return bytesToRead(w, this.#readIndex, this.#size);
  }

  /**
   * The next packet, advancing the private read index past it and its trailer; `empty` when the
   * writer has published nothing more; `corrupt` (sticky) when the ring breaks a rule.
   */
  read(): ReadResult {
    if (this.#corrupt) return this.#corrupt;
    const refused = this.#refused();
    if (refused) return refused;
    const size = this.#size;
    const w = Atomics.load(this.#control, RingControlWord.WRITE_INDEX);
    const badIndex = checkRingIndex('write_index', w, size);
    if (badIndex) return this.#fail(badIndex);
    const r = this.#readIndex;
    const available = bytesToRead(w, r, size);
    if (available === 0) return EMPTY;
    if (available < VMPACKET_MIN_FOOTPRINT) {
      return this.#fail(
        new RingCorruptError(
          'truncated-descriptor',
          `${available} bytes to read at ${r}, fewer than a descriptor and trailer (${VMPACKET_MIN_FOOTPRINT})`,
        ),
      );
    }
    // Each descriptor field is read once into a local: every later check and use reads the
    // local, never the ring again. In place when the descriptor does not wrap, else from a copy.
    let d = this.memory.dataView;
    let at = r;
    if (d === null || r + VMPACKET_DESCRIPTOR_SIZE > size) {
      d = this.#descView;
      at = 0;
      this.memory.copyOut(r, this.#desc.subarray(0, VMPACKET_DESCRIPTOR_SIZE));
    }
    const type = d.getUint16(at + VmPacketDescriptorOffset.TYPE, true);
    const offset8 = d.getUint16(at + VmPacketDescriptorOffset.OFFSET8, true);
    const len8 = d.getUint16(at + VmPacketDescriptorOffset.LEN8, true);
    const flags = d.getUint16(at + VmPacketDescriptorOffset.FLAGS, true);
    const transactionId = d.getBigUint64(at + VmPacketDescriptorOffset.TRANS_ID, true);
    let rangeCount = 0;
    if (
      type === VmPacketType.DATA_USING_GPA_DIRECT &&
      offset8 > VMPACKET_MIN_OFFSET8 &&
      len8 >= offset8 &&
      vmPacketFootprint(len8) <= available
    ) {
      this.memory.copyOut(
        advanceIndex(r, GPA_DIRECT_RANGE_COUNT_OFFSET, size),
        this.#desc.subarray(VMPACKET_DESCRIPTOR_SIZE, VMPACKET_DESCRIPTOR_SIZE + 4),
      );
      rangeCount = this.#descView.getUint32(VMPACKET_DESCRIPTOR_SIZE, true);
    }
    const bad = validatePacket({ type, offset8, len8, flags, rangeCount }, available);
    if (bad) return this.#fail(bad);
    const length = len8 * 8;
    let view: DataView;
    let viewOffset = 0;
    let copied = false;
    const dv = this.memory.dataView;
    if (dv !== null && r + length <= size) {
      view = dv;
      viewOffset = r;
    } else {
      const inPlace = this.memory.view(r, length);
      if (inPlace !== null) view = new DataView(inPlace.buffer, inPlace.byteOffset, length);
      else {
        copied = true;
        if (this.#scratch.length < length) {
          this.#scratch = new Uint8Array(Math.max(length, 2 * this.#scratch.length));
          this.#scratchView = new DataView(this.#scratch.buffer);
        }
        this.memory.copyOut(r, this.#scratch.subarray(0, length));
        view = this.#scratchView;
      }
    }
    this.#readIndex = advanceIndex(r, length + VMPACKET_TRAILER_SIZE, size);
    return this.#packet.set(type, flags, transactionId, offset8, len8, r, view, viewOffset, copied);
  }

  /**
   * Publishes the private read index (rule 6) and says whether to signal the writer (rule 7):
   * only with feat_pending_send_sz, and only when the free space just crossed pending_send_sz.
   */
  commit(): boolean {
    if (this.#corrupt || this.#refused()) return false;
    const c = this.#control;
    const consumed = bytesToRead(this.#readIndex, this.#published, this.#size);
    if (consumed === 0) return false;
    this.#published = this.#readIndex;
    Atomics.store(c, RingControlWord.READ_INDEX, this.#readIndex);
    if ((Atomics.load(c, RingControlWord.FEATURE_BITS) & RING_FEATURE_PENDING_SEND_SIZE) === 0) return false;
    // openvmm masks the low bits: a size is a multiple of 8.
    const pending = Atomics.load(c, RingControlWord.PENDING_SEND_SIZE) & ~7;
    if (pending === 0) return false;
    const w = Atomics.load(c, RingControlWord.WRITE_INDEX);
    if (checkRingIndex('write_index', w, this.#size)) return false; // the next read reports it
    const now = bytesToWrite(w, this.#readIndex, this.#size);
    return now - consumed <= pending && now > pending;
  }

  /** Forgets every packet read since the last commit: they will be read again. */
  revert(): void {
    this.#readIndex = this.#published;
  }

  /** Rule 8, `hv_begin_read`: mask interrupts while draining. */
  beginRead(): void {
    if (this.#refused()) return;
    Atomics.store(this.#control, RingControlWord.INTERRUPT_MASK, 1);
  }

  /**
   * Rule 8, `hv_end_read`: unmask, then look again. `true` when data arrived meanwhile (the
   * writer saw the mask and did not signal): keep reading. A corrupt write index also gives
   * `true`, so that the next `read` reports it.
   */
  endRead(): boolean {
    if (this.#refused()) return true;
    Atomics.store(this.#control, RingControlWord.INTERRUPT_MASK, 0);
    if (this.#corrupt) return true;
    const w = Atomics.load(this.#control, RingControlWord.WRITE_INDEX);
    if (checkRingIndex('write_index', w, this.#size)) return true;
    return bytesToRead(w, this.#readIndex, this.#size) > 0;
  }

  /** The memory's access check (isolation VMs): the sticky corrupt result when it refuses. */
  #refused(): RingCorrupt | null {
    const check = this.memory.check;
    if (check === null) return null;
    if (this.#corrupt) return this.#corrupt;
    const error = refusedAccess(check);
    return error === null ? null : this.#fail(error);
  }

  #fail(error: RingCorruptError): RingCorrupt {
    this.#corrupt = corrupt(error);
    return this.#corrupt;
  }
}
