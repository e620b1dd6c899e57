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
 */
export class X64HypercallRegisters implements HypercallIo {
  control = 0n;
  rdx = 0n;
  r8 = 0n;
  /** XMM0.lo, XMM0.hi, …, XMM5.hi. */
  readonly xmm = new BigUint64Array(HV_XMM_FAST_SLOTS - 2);
  readonly fastSlotCount = HV_XMM_FAST_SLOTS;
  fastOutputFirstSlot = 0;
  fastOutputSlots = 0;

  get inputGpa(): bigint {
    return this.rdx;
  }
  get outputGpa(): bigint {
    return this.r8;
  }
  readFastSlot(i: number): bigint {
    if (i === 0) return this.rdx;
    if (i === 1) return this.r8;
    return this.xmm[i - 2] ?? 0n;
  }
  writeFastSlot(i: number, value: bigint): void {
    const v = BigInt.asUintN(64, value);
    if (i === 0) this.rdx = v;
    else if (i === 1) this.r8 = v;
    else this.xmm[i - 2] = v;
  }
  /** Loads the slots from a list (RDX, R8, XMM0.lo, …); missing slots keep their values. */
  loadSlots(values: readonly bigint[]): void {
    const n = Math.min(values.length, this.fastSlotCount);
    for (let i = 0; i < n; i++) this.writeFastSlot(i, values[i] ?? 0n);
  }
}
