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

// One mailbox: 48 bytes of words and times, 16 u64 registers, the hypercall stamps, a message
// area. The state, the exit's time and registers 0–1 (RCX/RAX and RDX) share the first 64-byte
// cache line, so a fast call with one input register moves one line between the threads each
// way. The hypercall stamps have a line of their own: the vCPU writes one while the host handles
// the exit, and the host reads it later, so neither waits for the other's line.
const SLOT_BYTES = 4096;
const WORDS_OFFSET = 0;
const REGS_OFFSET = 48;
const REGS = 16;
/**
 * Four float64 times, then four u32 sequence numbers: hypercall exit `seq` uses pair `seq & 3`.
 * The host reads exit k's stamp after completing exit k + 1, by when the vCPU may have posted and
 * stamped k + 2 — but not k + 3, which needs the host to complete k + 2 first. So four pairs
 * never let the vCPU overwrite a stamp the host has yet to read.
 */
const LINE = 64;
const STAMPS_OFFSET = Math.ceil((REGS_OFFSET + REGS * 8) / LINE) * LINE;
const STAMP_SLOTS = 4;
const MSG_OFFSET = STAMPS_OFFSET + LINE;
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
/** Words 8–9: a float64, when the vCPU last resumed after an exit (ms since the run started). */
const W_RESUMED_AT = 8;
/** Words 10–11: a float64, when the vCPU posted its current exit (ms since the run started). */
const W_EXIT_AT = 10;

/** Mailbox registers 1..14 hold the 14 fast-call slots (RDX, R8, XMM0.lo … XMM5.hi). */
export const FAST_SLOT_REGS = 14;

/** Spins before blocking: enough for a round trip while both threads have a core. */
export const SPIN_LIMIT = 2000;
/**
 * Spins before blocking when there are more busy threads than cores. Shorter than `SPIN_LIMIT`,
 * since a spin that cannot pay steals a core another thread needs; long enough (~4 µs) to catch
 * a host that handles an exit in well under a microsecond. 50 made every exit block on both
 * sides (2 vCPUs on 2 cores: 60–75 k hypercalls/s, against 0.6–1.6 M with 500; see the bench
 * README).
 */
export const OVERSUBSCRIBED_SPIN_LIMIT = 500;

/** The spin bound for `threads` busy threads on `cores` cores. */
export function spinLimitFor(threads: number, cores: number): number {
  return threads <= cores ? SPIN_LIMIT : OVERSUBSCRIBED_SPIN_LIMIT;
}

/** BigInts for the small register values (statuses of hypercall results), so reading one allocates nothing. */
const SMALL = Array.from({ length: 256 }, (_, i) => BigInt(i));

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
  readonly #stampTimes: number[];
  readonly #stampSeqs: number[];

  constructor(buffer: SharedArrayBuffer, vcpus: number, spinLimit = SPIN_LIMIT) {
    this.buffer = buffer;
    this.vcpus = vcpus;
    this.spinLimit = spinLimit;
    this.#words = new Int32Array(buffer);
    this.#regs = new BigUint64Array(buffer);
    this.#u32 = new Uint32Array(buffer);
    this.#times = new Float64Array(buffer);
    this.#bytes = new Uint8Array(buffer);
    const stamps = (vp: number) => HEADER_BYTES + vp * SLOT_BYTES + STAMPS_OFFSET;
    this.#stampTimes = Array.from({ length: vcpus }, (_, vp) => stamps(vp) / 8);
    this.#stampSeqs = Array.from({ length: vcpus }, (_, vp) => (stamps(vp) + 8 * STAMP_SLOTS) / 4);
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
    const r = this.#reg(vp, i);
    const lo = this.#u32[2 * r]!;
    return this.#u32[2 * r + 1] === 0 && lo < SMALL.length ? SMALL[lo]! : this.#regs[r]!;
  }
  /** A BigUint64Array store keeps the low 64 bits of any bigint (negative ones as two's complement). */
  setReg(vp: number, i: number, v: bigint): void {
    this.#regs[this.#reg(vp, i)] = v;
  }
  /** Zeroes registers `from` .. `to` − 1 (no BigInt per register). */
  zeroRegs(vp: number, from: number, to: number): void {
    if (to > from) this.#u32.fill(0, this.#reg(vp, from) * 2, this.#reg(vp, to) * 2);
  }
  /** The registers as u64 values, and where `vp`'s register 0 is in it: for the vCPU's hot path. */
  registers(vp: number): { regs: BigUint64Array; first: number } {
    return { regs: this.#regs, first: this.#reg(vp, 0) };
  }
  /** The registers as u32 halves, and where `vp`'s register 0 starts in it: for `MailboxHypercallIo`. */
  registerWords(vp: number): { words: Uint32Array; first: number } {
    return { words: this.#u32, first: this.#reg(vp, 0) * 2 };
  }
  /** Half `half` (0 = bits 31:0) of register `i`, unsigned: no BigInt on the hot path. */
  regWord(vp: number, i: number, half: 0 | 1): number {
    return this.#u32[this.#reg(vp, i) * 2 + half]!;
  }
  setRegWord(vp: number, i: number, half: 0 | 1, v: number): void {
    this.#u32[this.#reg(vp, i) * 2 + half] = v;
  }
  /** When `vp` posted its current exit (ms since the run started, float64). */
  time(vp: number): number {
    return this.#times[this.#word(vp, W_EXIT_AT) / 2]!;
  }
  setTime(vp: number, t: number): void {
    this.#times[this.#word(vp, W_EXIT_AT) / 2] = t;
  }
  /** When `vp` last resumed from an exit (ms since the run started), if it records it (stolen-time accounting). */
  resumedAt(vp: number): number {
    return this.#times[this.#word(vp, W_RESUMED_AT) / 2]!;
  }
  setResumedAt(vp: number, t: number): void {
    this.#times[this.#word(vp, W_RESUMED_AT) / 2] = t;
  }
  // Kind and completion travel with the state word: plain accesses, published by its Atomics.
  kind(vp: number): ExitKindCode {
    return this.#words[this.#word(vp, W_KIND)] as ExitKindCode;
  }
  completion(vp: number): number {
    return this.#words[this.#word(vp, W_COMPLETION)]!;
  }
  /** How many fast-output slots the completed hypercall wrote (plain loads: after the state's). */
  outputSlotCount(vp: number): number {
    return this.#words[this.#word(vp, W_OUT_SLOTS)]!;
  }
  outputFirstSlot(vp: number): number {
    return this.#words[this.#word(vp, W_OUT_FIRST)]!;
  }
  /** Plain stores: `complete`'s store of the state publishes them. */
  setOutputSlots(vp: number, first: number, count: number): void {
    this.#words[this.#word(vp, W_OUT_FIRST)] = first;
    this.#words[this.#word(vp, W_OUT_SLOTS)] = count;
  }

  /**
   * The vCPU's clock reading for its hypercall exit `seq`, taken right after posting it, so that
   * the reading overlaps the host's handling (just before posting it when oversubscribed).
   */
  setHypercallStamp(vp: number, seq: number, t: number): void {
    const slot = seq & (STAMP_SLOTS - 1);
    this.#times[this.#stampTimes[vp]! + slot] = t;
    this.#words[this.#stampSeqs[vp]! + slot] = seq | 0;
  }
  /**
   * The stamp of hypercall exit `seq`, or NaN if the vCPU has not written it (yet). Certain to be
   * there once the vCPU has posted any later exit.
   */
  hypercallStamp(vp: number, seq: number): number {
    const slot = seq & (STAMP_SLOTS - 1);
    return this.#words[this.#stampSeqs[vp]! + slot] === (seq | 0)
      ? this.#times[this.#stampTimes[vp]! + slot]!
      : Number.NaN;
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
    this.postExit(vp, kind);
    return this.waitForCompletion(vp);
  }

  /** Posts the exit already written into the mailbox (the first half of `postExitAndWait`). */
  postExit(vp: number, kind: ExitKindCode): void {
    const w = this.#words;
    // The kind is a plain store: the state's sequentially consistent store publishes it.
    w[this.#word(vp, W_KIND)] = kind;
    Atomics.store(w, this.#word(vp, W_STATE), State.EXIT);
    // The host spins on the mailboxes themselves; the doorbell only wakes a host that sleeps.
    // (Store state, then load the flag; the host stores the flag, then loads the states: with
    // sequentially consistent Atomics one of the two sees the other, so no exit is missed.)
    if (Atomics.load(w, HOST_SLEEPING) !== 0) {
      Atomics.add(w, DOORBELL, 1);
      Atomics.notify(w, DOORBELL);
    }
  }

  /**
   * Blocks until the host completes the posted exit; returns the completion code. The state stays
   * COMPLETE until the next post (the host waits for EXIT only), which spares a store per exit.
   */
  waitForCompletion(vp: number): number {
    const w = this.#words;
    const state = this.#word(vp, W_STATE);
    for (let i = 0; i < this.spinLimit; i++) {
      if (Atomics.load(w, state) === State.COMPLETE) return this.completion(vp);
    }
    const sleeping = this.#word(vp, W_SLEEPING);
    while (Atomics.load(w, state) !== State.COMPLETE) {
      Atomics.store(w, sleeping, 1);
      Atomics.wait(w, state, State.EXIT);
      Atomics.store(w, sleeping, 0);
    }
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
   * doorbell, which a vCPU rings only when it sees the flag. Returns `true` when spinning found an
   * exit, `false` when it had to block (an exit may have come, or the time ran out).
   */
  waitForExit(watch: Uint8Array, timeoutMs: number): boolean {
    const w = this.#words;
    for (let i = 0; i < this.spinLimit; i++) if (this.anyExit(watch)) return true;
    const seen = Atomics.load(w, DOORBELL);
    Atomics.store(w, HOST_SLEEPING, 1);
    if (!this.anyExit(watch)) Atomics.wait(w, DOORBELL, seen, timeoutMs);
    Atomics.store(w, HOST_SLEEPING, 0);
    return false;
  }

  /** Completes `vp`'s exit with `completion` and wakes it if it sleeps. */
  complete(vp: number, completion: number): void {
    const w = this.#words;
    w[this.#word(vp, W_COMPLETION)] = completion;
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
  /** The mailbox registers as u32 halves; `#r0` is this vCPU's register 0 (low half). */
  readonly #u32: Uint32Array;
  readonly #r0: number;

  constructor(mb: Mailboxes, vp: number) {
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
