import type { HypercallIo, HypercallWordIo } from '@pvlab/hypercall/host';
import { FAST_SLOT_REGS } from './mailbox-wire.js';

/** The part of `Mailboxes` a `MailboxHypercallIo` reads its vCPU's registers through. */
export interface MailboxRegisters {
  reg(vp: number, i: number): bigint;
  setReg(vp: number, i: number, v: bigint): void;
  registerWords(vp: number): { words: Uint32Array; first: number };
}

/**
 * A vCPU's mailbox registers as the dispatcher's `HypercallIo`: register 0 is RCX (the control
 * value in, RAX the result out), 1..14 are RDX, R8, XMM0.lo … XMM5.hi. The dispatcher reads and
 * writes them in place through `words`, so a hypercall needs no register copies.
 */
export class MailboxHypercallIo implements HypercallIo, HypercallWordIo {
  readonly fastSlotCount = FAST_SLOT_REGS;
  fastOutputFirstSlot = 0;
  fastOutputSlots = 0;
  readonly words: HypercallWordIo = this;
  readonly #mb: MailboxRegisters;
  readonly #vp: number;
  /** The mailbox registers as u32 halves; `#r0` is this vCPU's register 0 (low half). */
  readonly #u32: Uint32Array;
  readonly #r0: number;

  constructor(mb: MailboxRegisters, vp: number) {
    this.#mb = mb;
    this.#vp = vp;
    const { words, first } = mb.registerWords(vp);
    this.#u32 = words;
    this.#r0 = first;
  }

  get control(): bigint {
    return this.#mb.reg(this.#vp, 0);
  }
  get inputGpa(): bigint {
    return this.#mb.reg(this.#vp, 1);
  }
  get outputGpa(): bigint {
    return this.#mb.reg(this.#vp, 2);
  }
  readFastSlot(i: number): bigint {
    return this.#mb.reg(this.#vp, i + 1);
  }
  writeFastSlot(i: number, value: bigint): void {
    this.#mb.setReg(this.#vp, i + 1, value);
  }
  controlLo(): number {
    return this.#u32[this.#r0]!;
  }
  controlHi(): number {
    return this.#u32[this.#r0 + 1]!;
  }
  slotWord(slot: number, half: 0 | 1): number {
    return this.#u32[this.#r0 + 2 * (slot + 1) + half]!;
  }
  setSlotWord(slot: number, half: 0 | 1, value: number): void {
    this.#u32[this.#r0 + 2 * (slot + 1) + half] = value;
  }
}
