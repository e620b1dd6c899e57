/**
 * The shared-memory protocol between vCPU threads and the host: one mailbox per vCPU holding
 * the current exit (a hypercall, an MSR access, a halt…) and its completion, plus a doorbell a
 * vCPU rings when it posts an exit while the host sleeps. Waits spin briefly, then block with
 * `Atomics.wait`; a sleeper raises its flag first, so a notifier that sees the flag down knows the
 * sleeper will re-check before blocking — no wake-up is lost.
 */

import type { HypercallIo, HypercallWordIo } from '@pvlab/hypercall/host';

/** What a vCPU stopped for. */
export const ExitKind = {
  /** The worker loaded the guest and waits for its first run grant. */
  START: 1,
  HYPERCALL: 2,
  RDMSR: 3,
  WRMSR: 4,
  CPUID: 5,
  /** HLT: resume when an interrupt is pending. */
  HALT: 6,
  /** A boot-log line (message area, UTF-8). */
  LOG: 7,
  /** A named value the guest reports (message area, JSON `[key, value]`). */
  REPORT: 8,
  /** The guest program returned: this vCPU passed. */
  DONE: 9,
  /** The guest program failed (message area: the reason). */
  FAIL: 10,
  /** A scheduling point with no other effect (a PAUSE in a spin loop). */
  YIELD: 11,
  /** INVLPG of register 0. */
  INVLPG: 12,
  /** A local full TLB flush; register 0 = 1 to drop global entries too. */
  FLUSH_TLB: 13,
  /** arm64 HVC through the SMCCC conduit: register 0 = function id, 1.. = x1..; results x0..x3 in 0..3. */
  SMCCC: 14,
} as const;
export type ExitKindCode = (typeof ExitKind)[keyof typeof ExitKind];

/** Register 0 of a FAIL exit: why the vCPU failed. */
export const FailKind = {
  /** The guest program ran and failed: cpu.fail(), an unhandled GuestFault, a failed assertion. */
  PROGRAM: 0,
  /** The guest module could not be loaded (user input: missing export, syntax error…). */
  LOAD: 1,
  /** The guest program threw an exception of its own (a bug in the program, not a guest failure). */
  THROW: 2,
} as const;

/** How the host completed an exit. */
export const Completion = {
  OK: 0,
  FAULT_UD: 1,
  FAULT_GP: 2,
  FAULT_MEMORY: 3,
  /** The run is over (another vCPU failed, or the host stopped it): unwind. */
  TERMINATE: 4,
} as const;

/** Mailbox states. */
const State = { RUNNING: 0, EXIT: 1, COMPLETE: 2 } as const;

// Global words at the start of the control buffer.
const DOORBELL = 0;
const HOST_SLEEPING = 1;
const HEADER_BYTES = 64;

// One mailbox: 48 bytes of words and times, 16 u64 registers, a message area. The state, the
// exit's time and registers 0–1 (RCX/RAX and RDX) share the first 64-byte cache line, so a fast
// call with one input register moves one line between the threads each way.
const SLOT_BYTES = 4096;
const WORDS_OFFSET = 0;
const REGS_OFFSET = 48;
const REGS = 16;
const MSG_OFFSET = REGS_OFFSET + REGS * 8;
/** Bytes a single message (log line, report, failure reason) may carry. */
export const MESSAGE_BYTES = SLOT_BYTES - MSG_OFFSET;

// Words of a mailbox.
const W_STATE = 0;
const W_KIND = 1;
const W_SLEEPING = 2;
const W_MSG_LEN = 3;
const W_COMPLETION = 4;
/** Output slots of a fast hypercall, or 0. */
const W_OUT_SLOTS = 5;
/** First output slot of a fast hypercall. */
const W_OUT_FIRST = 6;
/** Words 8–9: a float64, when the vCPU last resumed after an exit (ms since the epoch). */
const W_RESUMED_AT = 8;
/** Words 10–11: a float64, when the vCPU posted its current exit (ms since the epoch). */
const W_EXIT_AT = 10;

/** Mailbox registers 1..14 hold the 14 fast-call slots (RDX, R8, XMM0.lo … XMM5.hi). */
export const FAST_SLOT_REGS = 14;

/** Spins before blocking: enough for a round trip while both threads have a core. */
export const SPIN_LIMIT = 2000;
/** Spins before blocking when there are more threads than cores: spinning would only steal the peer's core. */
export const OVERSUBSCRIBED_SPIN_LIMIT = 50;

/** The spin bound for `threads` busy threads on `cores` cores. */
export function spinLimitFor(threads: number, cores: number): number {
  return threads <= cores ? SPIN_LIMIT : OVERSUBSCRIBED_SPIN_LIMIT;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of control memory for `vcpus` mailboxes. */
export function mailboxBytes(vcpus: number): number {
  return HEADER_BYTES + vcpus * SLOT_BYTES;
}

/** Views over the shared control buffer; both sides construct one over the same buffer. */
export class Mailboxes {
  readonly buffer: SharedArrayBuffer;
  readonly vcpus: number;
  /** Spins before a wait blocks. */
  readonly spinLimit: number;
  readonly #words: Int32Array;
  readonly #regs: BigUint64Array;
  /** The registers as u32 halves (lo at 2i, hi at 2i + 1). */
  readonly #u32: Uint32Array;
  readonly #times: Float64Array;
  readonly #bytes: Uint8Array;

  constructor(buffer: SharedArrayBuffer, vcpus: number, spinLimit = SPIN_LIMIT) {
    this.buffer = buffer;
    this.vcpus = vcpus;
    this.spinLimit = spinLimit;
    this.#words = new Int32Array(buffer);
    this.#regs = new BigUint64Array(buffer);
    this.#u32 = new Uint32Array(buffer);
    this.#times = new Float64Array(buffer);
    this.#bytes = new Uint8Array(buffer);
  }

  static create(vcpus: number, spinLimit = SPIN_LIMIT): Mailboxes {
    return new Mailboxes(new SharedArrayBuffer(mailboxBytes(vcpus)), vcpus, spinLimit);
  }

  #word(vp: number, w: number): number {
    return (HEADER_BYTES + vp * SLOT_BYTES + WORDS_OFFSET) / 4 + w;
  }

  #reg(vp: number, i: number): number {
    return (HEADER_BYTES + vp * SLOT_BYTES + REGS_OFFSET) / 8 + i;
  }

  // ---- registers and message area (plain accesses: ordered by the state word's Atomics) ----

  reg(vp: number, i: number): bigint {
    return this.#regs[this.#reg(vp, i)]!;
  }
  setReg(vp: number, i: number, v: bigint): void {
    this.#regs[this.#reg(vp, i)] = BigInt.asUintN(64, v);
  }
  /** Zeroes registers `from` .. `to` − 1 (no BigInt per register). */
  zeroRegs(vp: number, from: number, to: number): void {
    if (to > from) this.#u32.fill(0, this.#reg(vp, from) * 2, this.#reg(vp, to) * 2);
  }
  /** Half `half` (0 = bits 31:0) of register `i`, unsigned: no BigInt on the hot path. */
  regWord(vp: number, i: number, half: 0 | 1): number {
    return this.#u32[this.#reg(vp, i) * 2 + half]!;
  }
  setRegWord(vp: number, i: number, half: 0 | 1, v: number): void {
    this.#u32[this.#reg(vp, i) * 2 + half] = v;
  }
  /** When `vp` posted its current exit (ms since the epoch, float64). */
  time(vp: number): number {
    return this.#times[this.#word(vp, W_EXIT_AT) / 2]!;
  }
  setTime(vp: number, t: number): void {
    this.#times[this.#word(vp, W_EXIT_AT) / 2] = t;
  }
  /** When `vp` last resumed from an exit (ms since the epoch), if it records it (stolen-time accounting). */
  resumedAt(vp: number): number {
    return this.#times[this.#word(vp, W_RESUMED_AT) / 2]!;
  }
  setResumedAt(vp: number, t: number): void {
    this.#times[this.#word(vp, W_RESUMED_AT) / 2] = t;
  }
  kind(vp: number): ExitKindCode {
    return Atomics.load(this.#words, this.#word(vp, W_KIND)) as ExitKindCode;
  }
  completion(vp: number): number {
    return Atomics.load(this.#words, this.#word(vp, W_COMPLETION));
  }
  outputSlots(vp: number): { first: number; count: number } {
    return {
      first: Atomics.load(this.#words, this.#word(vp, W_OUT_FIRST)),
      count: Atomics.load(this.#words, this.#word(vp, W_OUT_SLOTS)),
    };
  }
  setOutputSlots(vp: number, first: number, count: number): void {
    Atomics.store(this.#words, this.#word(vp, W_OUT_FIRST), first);
    Atomics.store(this.#words, this.#word(vp, W_OUT_SLOTS), count);
  }

  writeMessage(vp: number, text: string): void {
    const start = HEADER_BYTES + vp * SLOT_BYTES + MSG_OFFSET;
    let bytes = encoder.encode(text);
    if (bytes.length > MESSAGE_BYTES)
      bytes = encoder.encode(`${text.slice(0, MESSAGE_BYTES / 4 - 20)} …[truncated]`);
    this.#bytes.set(bytes, start);
    Atomics.store(this.#words, this.#word(vp, W_MSG_LEN), bytes.length);
  }
  readMessage(vp: number): string {
    const start = HEADER_BYTES + vp * SLOT_BYTES + MSG_OFFSET;
    const len = Atomics.load(this.#words, this.#word(vp, W_MSG_LEN));
    // TextDecoder refuses shared memory: copy out first.
    return decoder.decode(this.#bytes.slice(start, start + len));
  }

  // ---- the vCPU side ----

  /**
   * Posts the exit already written into the mailbox and blocks until the host completes it.
   * Returns the completion code.
   */
  postExitAndWait(vp: number, kind: ExitKindCode): number {
    const w = this.#words;
    Atomics.store(w, this.#word(vp, W_KIND), kind);
    Atomics.store(w, this.#word(vp, W_STATE), State.EXIT);
    // The host spins on the mailboxes themselves; the doorbell only wakes a host that sleeps.
    // (Store state, then load the flag; the host stores the flag, then loads the states: with
    // sequentially consistent Atomics one of the two sees the other, so no exit is missed.)
    if (Atomics.load(w, HOST_SLEEPING) !== 0) {
      Atomics.add(w, DOORBELL, 1);
      Atomics.notify(w, DOORBELL);
    }
    const state = this.#word(vp, W_STATE);
    for (let i = 0; i < this.spinLimit; i++) {
      if (Atomics.load(w, state) === State.COMPLETE) return this.#resume(vp);
    }
    const sleeping = this.#word(vp, W_SLEEPING);
    while (Atomics.load(w, state) !== State.COMPLETE) {
      Atomics.store(w, sleeping, 1);
      Atomics.wait(w, state, State.EXIT);
      Atomics.store(w, sleeping, 0);
    }
    return this.#resume(vp);
  }

  #resume(vp: number): number {
    Atomics.store(this.#words, this.#word(vp, W_STATE), State.RUNNING);
    return this.completion(vp);
  }

  // ---- the host side ----

  /** `true` when `vp` has posted an exit the host has not completed. */
  hasExit(vp: number): boolean {
    return Atomics.load(this.#words, this.#word(vp, W_STATE)) === State.EXIT;
  }

  /** `true` when a vCPU with `watch[vp]` set has posted an exit. */
  anyExit(watch: Uint8Array): boolean {
    const w = this.#words;
    for (let vp = 0; vp < this.vcpus; vp++) {
      if (watch[vp] === 1 && Atomics.load(w, this.#word(vp, W_STATE)) === State.EXIT) return true;
    }
    return false;
  }

  /**
   * Blocks until a vCPU with `watch[vp]` set posts an exit, or `timeoutMs` passes: spins on the
   * mailboxes first, then raises the host's sleeping flag, looks once more, and sleeps on the
   * doorbell, which a vCPU rings only when it sees the flag.
   */
  waitForExit(watch: Uint8Array, timeoutMs: number): void {
    const w = this.#words;
    for (let i = 0; i < this.spinLimit; i++) if (this.anyExit(watch)) return;
    const seen = Atomics.load(w, DOORBELL);
    Atomics.store(w, HOST_SLEEPING, 1);
    if (!this.anyExit(watch)) Atomics.wait(w, DOORBELL, seen, timeoutMs);
    Atomics.store(w, HOST_SLEEPING, 0);
  }

  /** Completes `vp`'s exit with `completion` and wakes it if it sleeps. */
  complete(vp: number, completion: number): void {
    const w = this.#words;
    Atomics.store(w, this.#word(vp, W_COMPLETION), completion);
    Atomics.store(w, this.#word(vp, W_STATE), State.COMPLETE);
    if (Atomics.load(w, this.#word(vp, W_SLEEPING)) !== 0) Atomics.notify(w, this.#word(vp, W_STATE));
  }
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
  readonly #mb: Mailboxes;
  readonly #vp: number;

  constructor(mb: Mailboxes, vp: number) {
    this.#mb = mb;
    this.#vp = vp;
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
    return this.#mb.regWord(this.#vp, 0, 0);
  }
  controlHi(): number {
    return this.#mb.regWord(this.#vp, 0, 1);
  }
  slotWord(slot: number, half: 0 | 1): number {
    return this.#mb.regWord(this.#vp, slot + 1, half);
  }
  setSlotWord(slot: number, half: 0 | 1, value: number): void {
    this.#mb.setRegWord(this.#vp, slot + 1, half, value);
  }
}
