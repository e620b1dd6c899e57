/**
 * The shared-memory protocol between vCPU threads and the host: one mailbox per vCPU holding
 * the current exit (a hypercall, an MSR access, a halt…) and its completion, plus a doorbell a
 * vCPU rings when it posts an exit while the host sleeps. Waits spin briefly, then block with
 * `Atomics.wait`; a sleeper raises its flag first, so a notifier that sees the flag down knows the
 * sleeper will re-check before blocking — no wake-up is lost. The layout is `mailbox-wire.ts`.
 */
import { GuestFault, type GuestFaultValue, type GuestFaultVector } from '@pvlab/hypercall';
import {
  DOORBELL,
  type ExitKindCode,
  FAULT_HAS_ERROR_CODE,
  FAULT_HAS_GPA,
  FAULT_VECTOR_CODE,
  FaultRecord,
  HEADER_BYTES,
  HOST_SLEEPING,
  MESSAGE_BYTES,
  MSG_OFFSET,
  mailboxBytes,
  REGS_OFFSET,
  SLOT_BYTES,
  STAMP_SLOTS,
  STAMPS_OFFSET,
  State,
  slotOffset,
  W_COMPLETION,
  W_EXIT_AT,
  W_KIND,
  W_MSG_LEN,
  W_OUT_FIRST,
  W_OUT_SLOTS,
  W_RESUMED_AT,
  W_SLEEPING,
  W_STATE,
  WORDS_OFFSET,
} from './mailbox-wire.js';

// The bench loads this module (dist/threaded/mailbox.js) for the spin bounds, `Mailboxes`,
// `mailboxBytes` and `MailboxHypercallIo`: they stay reachable from here.
export { MailboxHypercallIo } from './mailbox-io.js';
export { mailboxBytes };

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

// The numbers of the round trip as this module's own constants: V8 folds a module's own `const`s
// into the optimized code but loads an imported binding, or a property of an imported object, on
// every use (measured on the bench's mailbox-null loop: ~85 ns with them local, ~107 ns imported).
const FIRST_WORD = (HEADER_BYTES + WORDS_OFFSET) / 4;
const FIRST_REG = (HEADER_BYTES + REGS_OFFSET) / 8;
const SLOT_WORDS = SLOT_BYTES / 4;
const SLOT_REGS = SLOT_BYTES / 8;
const STATE_WORD = W_STATE;
const KIND_WORD = W_KIND;
const SLEEPING_WORD = W_SLEEPING;
const COMPLETION_WORD = W_COMPLETION;
const OUT_SLOTS_WORD = W_OUT_SLOTS;
const OUT_FIRST_WORD = W_OUT_FIRST;
const EXIT = State.EXIT;
const COMPLETE = State.COMPLETE;
const DOORBELL_WORD = DOORBELL;
const HOST_SLEEPING_WORD = HOST_SLEEPING;

/** BigInts for the small register values (statuses of hypercall results), so reading one allocates nothing. */
const SMALL = Array.from({ length: 256 }, (_, i) => BigInt(i));

/** The vectors of `FAULT_VECTOR_CODE`, by code. */
const FAULT_VECTORS: readonly (GuestFaultVector | undefined)[] = (() => {
  const byCode: (GuestFaultVector | undefined)[] = [];
  for (const [vector, code] of Object.entries(FAULT_VECTOR_CODE)) byCode[code] = vector as GuestFaultVector;
  return byCode;
})();

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
    const stamps = (vp: number) => slotOffset(vp) + STAMPS_OFFSET;
    this.#stampTimes = Array.from({ length: vcpus }, (_, vp) => stamps(vp) / 8);
    this.#stampSeqs = Array.from({ length: vcpus }, (_, vp) => (stamps(vp) + 8 * STAMP_SLOTS) / 4);
  }

  static create(vcpus: number, spinLimit = SPIN_LIMIT): Mailboxes {
    return new Mailboxes(new SharedArrayBuffer(mailboxBytes(vcpus)), vcpus, spinLimit);
  }

  #word(vp: number, w: number): number {
    return FIRST_WORD + vp * SLOT_WORDS + w;
  }

  #reg(vp: number, i: number): number {
    return FIRST_REG + vp * SLOT_REGS + i;
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
    return this.#words[this.#word(vp, KIND_WORD)] as ExitKindCode;
  }
  completion(vp: number): number {
    return this.#words[this.#word(vp, COMPLETION_WORD)]!;
  }
  /** How many fast-output slots the completed hypercall wrote (plain loads: after the state's). */
  outputSlotCount(vp: number): number {
    return this.#words[this.#word(vp, OUT_SLOTS_WORD)]!;
  }
  outputFirstSlot(vp: number): number {
    return this.#words[this.#word(vp, OUT_FIRST_WORD)]!;
  }
  /** Plain stores: `complete`'s store of the state publishes them. */
  setOutputSlots(vp: number, first: number, count: number): void {
    this.#words[this.#word(vp, OUT_FIRST_WORD)] = first;
    this.#words[this.#word(vp, OUT_SLOTS_WORD)] = count;
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
    this.#writeText(vp, slotOffset(vp) + MSG_OFFSET, MESSAGE_BYTES, text);
  }
  readMessage(vp: number): string {
    return this.#readText(vp, slotOffset(vp) + MSG_OFFSET);
  }

  /** Writes `fault` as the fault record of `vp`'s exit (the host, before completing it with FAULT). */
  writeFault(vp: number, fault: GuestFaultValue): void {
    const record = slotOffset(vp) + MSG_OFFSET;
    const w = this.#words;
    const flags =
      (fault.errorCode === undefined ? 0 : FAULT_HAS_ERROR_CODE) |
      (fault.gpa === undefined ? 0 : FAULT_HAS_GPA);
    w[(record + FaultRecord.VECTOR) / 4] = FAULT_VECTOR_CODE[fault.vector];
    w[(record + FaultRecord.FLAGS) / 4] = flags;
    w[(record + FaultRecord.ERROR_CODE) / 4] = fault.errorCode ?? 0;
    this.#regs[(record + FaultRecord.GPA) / 8] = fault.gpa ?? 0n;
    this.#writeText(vp, record + FaultRecord.TEXT, MESSAGE_BYTES - FaultRecord.TEXT, fault.message);
  }

  /** The fault `vp`'s exit completed with (the vCPU, on a FAULT completion), as the host raised it. */
  readFault(vp: number): GuestFault {
    const record = slotOffset(vp) + MSG_OFFSET;
    const w = this.#words;
    const code = w[(record + FaultRecord.VECTOR) / 4]!;
    const vector = FAULT_VECTORS[code];
    if (vector === undefined) throw new Error(`vCPU ${vp}: fault record with unknown vector code ${code}`);
    const flags = w[(record + FaultRecord.FLAGS) / 4]!;
    const errorCode =
      flags & FAULT_HAS_ERROR_CODE ? w[(record + FaultRecord.ERROR_CODE) / 4]! >>> 0 : undefined;
    const gpa = flags & FAULT_HAS_GPA ? this.#regs[(record + FaultRecord.GPA) / 8]! : undefined;
    return new GuestFault(vector, this.#readText(vp, record + FaultRecord.TEXT), gpa, errorCode);
  }

  /** UTF-8 `text` at byte `start`, cut to fit `capacity` bytes; its length goes in `vp`'s W_MSG_LEN. */
  #writeText(vp: number, start: number, capacity: number, text: string): void {
    let bytes = encoder.encode(text);
    if (bytes.length > capacity) bytes = encoder.encode(`${text.slice(0, capacity / 4 - 20)} …[truncated]`);
    this.#bytes.set(bytes, start);
    Atomics.store(this.#words, this.#word(vp, W_MSG_LEN), bytes.length);
  }

  #readText(vp: number, start: number): string {
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
    w[this.#word(vp, KIND_WORD)] = kind;
    Atomics.store(w, this.#word(vp, STATE_WORD), EXIT);
    // The host spins on the mailboxes themselves; the doorbell only wakes a host that sleeps.
    // (Store state, then load the flag; the host stores the flag, then loads the states: with
    // sequentially consistent Atomics one of the two sees the other, so no exit is missed.)
    if (Atomics.load(w, HOST_SLEEPING_WORD) !== 0) {
      Atomics.add(w, DOORBELL_WORD, 1);
      Atomics.notify(w, DOORBELL_WORD);
    }
  }

  /**
   * Blocks until the host completes the posted exit; returns the completion code. The state stays
   * COMPLETE until the next post (the host waits for EXIT only), which spares a store per exit.
   */
  waitForCompletion(vp: number): number {
    const w = this.#words;
    const state = this.#word(vp, STATE_WORD);
    for (let i = 0; i < this.spinLimit; i++) {
      if (Atomics.load(w, state) === COMPLETE) return this.completion(vp);
    }
    const sleeping = this.#word(vp, SLEEPING_WORD);
    while (Atomics.load(w, state) !== COMPLETE) {
      Atomics.store(w, sleeping, 1);
      Atomics.wait(w, state, EXIT);
      Atomics.store(w, sleeping, 0);
    }
    return this.completion(vp);
  }

  // ---- the host side ----

  /** `true` when `vp` has posted an exit the host has not completed. */
  hasExit(vp: number): boolean {
    return Atomics.load(this.#words, this.#word(vp, STATE_WORD)) === EXIT;
  }

  /** `true` when a vCPU with `watch[vp]` set has posted an exit. */
  anyExit(watch: Uint8Array): boolean {
    const w = this.#words;
    for (let vp = 0; vp < this.vcpus; vp++) {
      if (watch[vp] === 1 && Atomics.load(w, this.#word(vp, STATE_WORD)) === EXIT) return true;
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
    const seen = Atomics.load(w, DOORBELL_WORD);
    Atomics.store(w, HOST_SLEEPING_WORD, 1);
    if (!this.anyExit(watch)) Atomics.wait(w, DOORBELL_WORD, seen, timeoutMs);
    Atomics.store(w, HOST_SLEEPING_WORD, 0);
    return false;
  }

  /** Completes `vp`'s exit with `completion` and wakes it if it sleeps. */
  complete(vp: number, completion: number): void {
    const w = this.#words;
    w[this.#word(vp, COMPLETION_WORD)] = completion;
    Atomics.store(w, this.#word(vp, STATE_WORD), COMPLETE);
    if (Atomics.load(w, this.#word(vp, SLEEPING_WORD)) !== 0) Atomics.notify(w, this.#word(vp, STATE_WORD));
  }
}
