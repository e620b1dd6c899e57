import { HV_XMM_FAST_SLOTS } from '../wire/fast.js';

/**
 * One hypercall's registers, whatever the calling convention (spec 01 "Register mapping").
 * Memory calls read `inputGpa`/`outputGpa`; fast calls read and write the 8-byte slots.
 */
export interface HypercallIo {
  readonly control: bigint;
  readonly inputGpa: bigint;
  readonly outputGpa: bigint;
  /** Slots available to fast calls (x64: RDX, R8, XMM0.lo … XMM5.hi = 14). */
  readonly fastSlotCount: number;
  readFastSlot(i: number): bigint;
  writeFastSlot(i: number, value: bigint): void;
  /**
   * Set by the dispatcher after every call: the slots from `fastOutputFirstSlot` on that hold
   * output (a simple call's on success, a rep call's elements 0..RepsCompleted-1); 0 when none.
   */
  fastOutputFirstSlot: number;
  fastOutputSlots: number;
  /**
   * Optional 32-bit access to the same registers. When present the dispatcher decodes the
   * control value and moves fast-call slots through it, without a BigInt per register: the
   * threaded host's mailbox provides it so a fast hypercall allocates nothing on its way.
   */
  readonly words?: HypercallWordIo;
}

/** The registers of a `HypercallIo` as little-endian 32-bit halves (lo = bits 31:0). */
export interface HypercallWordIo {
  /** RCX bits 31:0 and 63:32, as unsigned 32-bit numbers. */
  controlLo(): number;
  controlHi(): number;
  /**
   * Half `half` (0 = bits 31:0, 1 = 63:32) of fast slot `slot`, unsigned. Slots 0 and 1 are RDX
   * and R8: a memory call's input and output GPAs, which the dispatcher reads through them too.
   */
  slotWord(slot: number, half: 0 | 1): number;
  setSlotWord(slot: number, half: 0 | 1, value: number): void;
}

/**
 * The x64 convention: RCX = control, RDX/R8 = input/output GPAs or the first 16 fast input
 * bytes, XMM0..XMM5 = the rest of an XMM fast call's input and its output.
 *
 * The registers live in one buffer (RCX, RDX, R8, XMM0.lo … XMM5.hi, 8 bytes each, the threaded
 * mailbox's order), seen both as 64-bit values and as u32 halves (`words`): a caller holding
 * halves (a wasm guest's import) sets them with `setWords` and the dispatcher reads them back
 * without a bigint made on the way.
 */
export class X64HypercallRegisters implements HypercallIo {
  readonly #u64 = new BigUint64Array(1 + HV_XMM_FAST_SLOTS);
  readonly #u32 = new Uint32Array(this.#u64.buffer);
  /** XMM0.lo, XMM0.hi, …, XMM5.hi (a view of the same buffer). */
  readonly xmm = this.#u64.subarray(3);
  readonly fastSlotCount = HV_XMM_FAST_SLOTS;
  fastOutputFirstSlot = 0;
  fastOutputSlots = 0;
  readonly words: HypercallWordIo;

  constructor() {
    const u32 = this.#u32;
    this.words = {
      controlLo: () => u32[0]!,
      controlHi: () => u32[1]!,
      slotWord: (slot, half) => u32[2 + 2 * slot + half]!,
      setSlotWord: (slot, half, value) => {
        u32[2 + 2 * slot + half] = value;
      },
    };
  }

  /** RCX; stored modulo 2^64, as every register here. */
  get control(): bigint {
    return this.#u64[0]!;
  }
  set control(v: bigint) {
    this.#u64[0] = v;
  }
  get rdx(): bigint {
    return this.#u64[1]!;
  }
  set rdx(v: bigint) {
    this.#u64[1] = v;
  }
  get r8(): bigint {
    return this.#u64[2]!;
  }
  set r8(v: bigint) {
    this.#u64[2] = v;
  }
  get inputGpa(): bigint {
    return this.#u64[1]!;
  }
  get outputGpa(): bigint {
    return this.#u64[2]!;
  }
  /** RCX, RDX and R8 from 32-bit halves (lo = bits 31:0, each modulo 2^32); the XMM registers keep their values. */
  setWords(
    controlLo: number,
    controlHi: number,
    rdxLo: number,
    rdxHi: number,
    r8Lo: number,
    r8Hi: number,
  ): void {
    const u32 = this.#u32;
    u32[0] = controlLo;
    u32[1] = controlHi;
    u32[2] = rdxLo;
    u32[3] = rdxHi;
    u32[4] = r8Lo;
    u32[5] = r8Hi;
  }
  readFastSlot(i: number): bigint {
    return this.#u64[1 + i] ?? 0n;
  }
  writeFastSlot(i: number, value: bigint): void {
    if (i >= 0 && i < this.fastSlotCount) this.#u64[1 + i] = value;
  }
  /** Loads the slots from a list (RDX, R8, XMM0.lo, …); missing slots keep their values. */
  loadSlots(values: readonly bigint[]): void {
    const n = Math.min(values.length, this.fastSlotCount);
    for (let i = 0; i < n; i++) this.#u64[1 + i] = values[i] ?? 0n;
  }
}
