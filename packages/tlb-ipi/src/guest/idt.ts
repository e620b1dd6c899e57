import type { GuestProgramCpu } from '@pvlab/hypercall/guest';

/** The instructions interrupt handling needs: HLT, the interrupt window, PAUSE. */
export type InterruptCpu = Pick<GuestProgramCpu, 'halt' | 'takeInterrupts' | 'pause'>;

/** An interrupt handler: runs with interrupts off, must not wait. */
export type InterruptHandler = (vector: number) => void;

/**
 * A guest CPU's interrupt handling — its IDT and its interrupt flag. A guest program has no
 * asynchronous interrupts: vectors are acknowledged at `halt()` returns and in wait loops
 * (`takeInterrupts()`), and this class runs their handlers there, as Linux runs IPI handlers in
 * interrupt context. While interrupts are off (before a CPU is online, or inside a handler)
 * vectors that arrive are kept, coalesced like the IRR, and handled when they are turned on.
 */
export class Idt {
  readonly #cpu: InterruptCpu;
  readonly #handlers = new Map<number, InterruptHandler>();
  readonly #deferred = new Set<number>();
  #enabled = false;
  #inHandler = false;
  /** Vectors that arrived with no handler (Linux: "spurious APIC interrupt"). */
  spurious = 0;
  /** Handler runs, all vectors. */
  handled = 0;

  /** Starts with interrupts off, as a CPU that is not online yet. */
  constructor(cpu: InterruptCpu) {
    this.#cpu = cpu;
  }

  /** Installs the handler of `vector`; a second handler for one vector is a kernel bug. */
  register(vector: number, handler: InterruptHandler): void {
    if (this.#handlers.has(vector)) throw new Error(`vector 0x${vector.toString(16)} already has a handler`);
    this.#handlers.set(vector, handler);
  }

  /** `true` while interrupts are on (STI). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** STI: turns interrupts on and handles every vector that arrived while they were off. */
  enable(): void {
    this.#enabled = true;
    this.#run([]);
  }

  /** CLI: vectors that arrive from now on wait for `enable()`. */
  disable(): void {
    this.#enabled = false;
  }

  /** The interrupt window: acknowledges what is pending and handles it (or keeps it, when off). */
  poll(): void {
    this.#run(this.#cpu.takeInterrupts());
  }

  /** HLT: sleeps until an interrupt arrives, then handles it (or keeps it, when off). */
  halt(): void {
    this.#run(this.#cpu.halt());
  }

  /**
   * Takes `vector` out of the vectors kept while interrupts were off; `true` when it had arrived.
   * For the few waits done with interrupts off (a secondary CPU waiting for its startup IPI).
   */
  consume(vector: number): boolean {
    return this.#deferred.delete(vector);
  }

  /**
   * A PAUSE loop that handles interrupts each round until `done()` (Linux `smp_cond_load_acquire`
   * with interrupts on). Returns `false` when `maxRounds` PAUSEs pass first.
   */
  spinUntil(done: () => boolean, maxRounds = Number.POSITIVE_INFINITY): boolean {
    this.poll();
    for (let round = 0; !done(); round++) {
      if (round >= maxRounds) return false;
      this.#cpu.pause();
      this.poll();
    }
    return true;
  }

  /** Halts until `done()`: for conditions that only an interrupt can make true. */
  haltUntil(done: () => boolean): void {
    this.poll();
    while (!done()) this.halt();
  }

  #run(vectors: readonly number[]): void {
    for (const v of vectors) this.#deferred.add(v);
    if (!this.#enabled || this.#inHandler || this.#deferred.size === 0) return;
    this.#inHandler = true;
    try {
      // Handlers may see new vectors arrive (they are kept for the next round, not nested).
      while (this.#deferred.size > 0) {
        const pending = [...this.#deferred].sort((a, b) => a - b);
        this.#deferred.clear();
        for (const vector of pending) {
          const handler = this.#handlers.get(vector);
          if (handler === undefined) {
            this.spurious++;
            continue;
          }
          this.handled++;
          handler(vector);
        }
      }
    } finally {
      this.#inHandler = false;
    }
  }
}
