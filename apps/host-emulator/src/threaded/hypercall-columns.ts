import type { GuestFaultVector } from '@pvlab/hypercall';
import type { HypercallEnd } from '@pvlab/hypercall/host';

/** The vectors of the fault outcomes, by `Outcome` code − 1. */
const FAULT_VECTORS: readonly GuestFaultVector[] = ['UD', 'GP', 'MEMORY'];
/**
 * A hypercall exit's outcome in the log. A result keeps RAX in the result words; a suspension
 * keeps the VP it waits on in the low one.
 */
export const Outcome = { RESULT: 0, UD: 1, GP: 2, MEMORY: 3, SUSPENDED: 4 } as const;

/** One logged hypercall exit, its words put back together. */
export interface HypercallColumnsEntry {
  readonly vp: number;
  readonly ts: number;
  readonly dur: number;
  readonly control: bigint;
  /** The result value, or the suspension or fault the exit ended in instead. */
  readonly end: HypercallEnd;
}

/**
 * Hypercall exits as recorded on the hot path: columns of typed arrays (the raw control value and
 * result as u32 halves, or an outcome code), decoded into events when the run ends. No object
 * per exit, so a long hypercall loop does not grow the heap by an object per call.
 */
export class HypercallColumns {
  length = 0;
  #vp = new Uint32Array(1024);
  #ts = new Float64Array(1024);
  #dur = new Float64Array(1024);
  /** Control lo, control hi, result lo, result hi. */
  #words = new Uint32Array(4 * 1024);
  /** An `Outcome` code. */
  #outcome = new Uint8Array(1024);

  push(
    vp: number,
    ts: number,
    dur: number,
    ctlLo: number,
    ctlHi: number,
    resLo: number,
    resHi: number,
    outcome: number,
  ): number {
    if (this.length === this.#vp.length) this.#grow();
    const i = this.length++;
    this.#vp[i] = vp;
    this.#ts[i] = ts;
    this.#dur[i] = dur;
    this.#words[4 * i] = ctlLo;
    this.#words[4 * i + 1] = ctlHi;
    this.#words[4 * i + 2] = resLo;
    this.#words[4 * i + 3] = resHi;
    this.#outcome[i] = outcome;
    return i;
  }

  /**
   * Hypercall exits in parallel runs are timed after they complete: the completion time first
   * (kept in the duration column until the start is known), then the vCPU's stamp of when it
   * posted the exit.
   */
  setDone(i: number, doneUs: number): void {
    this.#dur[i] = doneUs;
  }
  setStart(i: number, startUs: number): void {
    const done = this.#dur[i]!;
    // No stamp (a vCPU stopped before writing it): the completion time, a zero-length slice.
    const start = Number.isNaN(startUs) ? done : startUs;
    this.#ts[i] = start;
    this.#dur[i] = Math.max(0, done - start);
  }

  entry(i: number): HypercallColumnsEntry {
    const w = this.#words;
    const outcome = this.#outcome[i]!;
    return {
      vp: this.#vp[i]!,
      ts: this.#ts[i]!,
      dur: this.#dur[i]!,
      control: BigInt(w[4 * i]!) | (BigInt(w[4 * i + 1]!) << 32n),
      end:
        outcome === Outcome.RESULT
          ? BigInt(w[4 * i + 2]!) | (BigInt(w[4 * i + 3]!) << 32n)
          : outcome === Outcome.SUSPENDED
            ? { kind: 'suspended', waitingOn: w[4 * i + 2]! }
            : { kind: 'fault', vector: FAULT_VECTORS[outcome - 1]! },
    };
  }

  #grow(): void {
    const n = this.#vp.length * 2;
    const grow = <T extends Uint32Array | Float64Array | Uint8Array>(
      a: T,
      make: (n: number) => T,
      factor = 1,
    ): T => {
      const b = make(n * factor);
      b.set(a as never);
      return b;
    };
    this.#vp = grow(this.#vp, (k) => new Uint32Array(k));
    this.#ts = grow(this.#ts, (k) => new Float64Array(k));
    this.#dur = grow(this.#dur, (k) => new Float64Array(k));
    this.#words = grow(this.#words, (k) => new Uint32Array(k), 4);
    this.#outcome = grow(this.#outcome, (k) => new Uint8Array(k));
  }
}
