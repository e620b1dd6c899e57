/** Vectors per VP: one 256-bit IRR. */
const WORDS_PER_VP = 8;

/**
 * Pending fixed interrupts of every VP: a 256-bit IRR per VP in (optionally shared) memory, so
 * that vCPU threads can acknowledge what the host raised. Raising and acknowledging are atomic.
 */
export class PendingInterrupts {
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  readonly vcpus: number;
  readonly #words: Int32Array;

  /** Bytes needed for `vcpus` VPs. */
  static bytes(vcpus: number): number {
    return vcpus * WORDS_PER_VP * 4;
  }

  constructor(
    vcpus: number,
    buffer: SharedArrayBuffer | ArrayBuffer = new SharedArrayBuffer(PendingInterrupts.bytes(vcpus)),
  ) {
    if (buffer.byteLength < PendingInterrupts.bytes(vcpus)) {
      throw new RangeError(`an IRR buffer for ${vcpus} VPs needs ${PendingInterrupts.bytes(vcpus)} bytes`);
    }
    this.buffer = buffer;
    this.vcpus = vcpus;
    this.#words = new Int32Array(buffer, 0, vcpus * WORDS_PER_VP);
  }

  /** Sets `vector` pending on `vp`; `true` when it was not pending already. */
  raise(vp: number, vector: number): boolean {
    const bit = 1 << (vector & 31);
    return (Atomics.or(this.#words, vp * WORDS_PER_VP + (vector >>> 5), bit) & bit) === 0;
  }

  /** `true` when any vector is pending on `vp`. */
  pending(vp: number): boolean {
    const base = vp * WORDS_PER_VP;
    for (let i = 0; i < WORDS_PER_VP; i++) if (Atomics.load(this.#words, base + i) !== 0) return true;
    return false;
  }

  /**
   * `true` when a vector looks pending on `vp`: the IRR read with plain loads, ~8× cheaper than
   * `pending` (an `Atomics.load` of shared memory costs ~8 ns a word here), for a vCPU that looks
   * after every exit before `take`. Without ordering, a vector another thread raises at that
   * moment may show up only at the next look; every `Atomics` operation in between (an exit's
   * completion) makes it visible. A vector raised on this thread is always seen.
   */
  mayBePending(vp: number): boolean {
    const w = this.#words;
    const b = vp * WORDS_PER_VP;
    return (w[b]! | w[b + 1]! | w[b + 2]! | w[b + 3]! | w[b + 4]! | w[b + 5]! | w[b + 6]! | w[b + 7]!) !== 0;
  }

  /** Acknowledges every pending vector of `vp`, lowest first. */
  take(vp: number): number[] {
    return this.#collect(vp, (i) => Atomics.exchange(this.#words, i, 0));
  }

  /** The pending vectors of `vp`, lowest first, left pending. */
  peek(vp: number): number[] {
    return this.#collect(vp, (i) => Atomics.load(this.#words, i));
  }

  #collect(vp: number, read: (index: number) => number): number[] {
    const base = vp * WORDS_PER_VP;
    const out: number[] = [];
    for (let i = 0; i < WORDS_PER_VP; i++) {
      let bits = read(base + i) >>> 0;
      while (bits !== 0) {
        const low = bits & -bits;
        out.push(i * 32 + 31 - Math.clz32(low));
        bits = (bits & ~low) >>> 0;
      }
    }
    return out;
  }
}
