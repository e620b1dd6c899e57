import type { GuestMemory } from '@pvlab/hypercall';
import type { GuestProgramCpu } from '@pvlab/hypercall/guest';
import { normalizeCpumask } from './env.js';
import { type FlushRequest, TLB_FLUSH_ALL } from './flush-plan.js';
import type { NativeTlbFlusher } from './hv-mmu.js';
import type { Idt } from './idt.js';

/** Linux `CALL_FUNCTION_VECTOR`: the IPI of a native TLB shootdown. */
export const CALL_FUNCTION_VECTOR = 0xfc;
/** Linux `tlb_single_page_flush_ceiling`: a range of more pages is flushed whole. */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

/** The local flush instructions (INVLPG, MOV CR3 / CR4.PGE). */
export type LocalTlbCpu = Pick<GuestProgramCpu, 'invlpg' | 'flushLocalTlb'>;

const PAGE = 4096n;

/**
 * Linux `flush_tlb_func` on this CPU: INVLPG per page for a range of at most 33 pages; otherwise
 * a full local flush (global entries too for a kernel range, which INVLPG would have dropped).
 * A full request keeps global entries, as the hypercall's NON_GLOBAL_MAPPINGS_ONLY does.
 */
export function flushTlbFunc(cpu: LocalTlbCpu, request: FlushRequest): void {
  if (request.end === TLB_FLUSH_ALL) {
    cpu.flushLocalTlb(false);
    return;
  }
  const first = request.start & ~(PAGE - 1n);
  const pages = request.end > first ? (request.end - first + PAGE - 1n) / PAGE : 1n;
  if (pages > BigInt(TLB_SINGLE_PAGE_FLUSH_CEILING)) {
    cpu.flushLocalTlb(request.pgd === null);
    return;
  }
  for (let p = 0n; p < pages; p++) cpu.invlpg(first + p * PAGE);
}

// One request block per sending CPU (Linux: its flush_tlb_info and call_function_data):
// u32 pending acks · u32 kind · u64 pgd · u64 start · u64 end · target bitmap (u32 words).
const PENDING = 0;
const KIND = 4;
const PGD = 8;
const START = 16;
const END = 24;
const TARGETS = 32;
const KIND_FULL = 1;
const KIND_KERNEL = 2;

/** Raised when a shootdown's targets do not all acknowledge in time (Linux: "csd: CSD lock timeout"). */
export class CsdLockTimeout extends Error {
  override readonly name = 'CsdLockTimeout';
}

/** Options of `TlbShootdown`. */
export interface TlbShootdownOptions {
  /** Guest RAM shared by every CPU. */
  readonly memory: Pick<GuestMemory, 'buffer'>;
  /** Where the request blocks start (8-byte aligned, `TlbShootdown.bytes(cpus)` long). */
  readonly gpa: bigint;
  /** Present CPUs. */
  readonly cpus: number;
  /** This CPU. */
  readonly self: number;
  /** Its local flush instructions. */
  readonly cpu: LocalTlbCpu;
  /** Its interrupt handling: the handler is installed at `vector`, and the sender waits through it. */
  readonly idt: Idt;
  /** The kernel's `send_IPI_mask` (enlightened or native), for the call-function IPIs. */
  readonly sendIpiMask: (cpus: readonly number[], vector: number) => void;
  /** The IPI vector (default CALL_FUNCTION_VECTOR). */
  readonly vector?: number;
  /** PAUSE rounds a sender waits for the acknowledgements before `CsdLockTimeout` (default 10⁶). */
  readonly maxWaitRounds?: number;
}

/**
 * The native TLB shootdown (Linux `native_flush_tlb_multi` over `smp_call_function_many`): the
 * sender writes what to flush into its request block in guest memory, marks each target in the
 * block's bitmap, sends the call-function IPI, flushes itself if named, and PAUSE-waits (handling
 * interrupts) until every target has flushed and acknowledged. A target's handler scans the
 * senders' bitmaps for its bit, runs `flushTlbFunc`, clears the bit and counts down `pending`.
 */
export class TlbShootdown implements NativeTlbFlusher {
  readonly #words: Int32Array;
  readonly #view: DataView;
  readonly #base: number;
  readonly #stride: number;
  readonly #o: TlbShootdownOptions;
  /** Shootdowns this CPU sent, and requests it served for others. */
  readonly counters = { sent: 0, ipis: 0, served: 0 };

  /** Bytes of the request blocks for `cpus` CPUs. */
  static bytes(cpus: number): number {
    return cpus * TlbShootdown.#strideFor(cpus);
  }

  static #strideFor(cpus: number): number {
    return (TARGETS + 4 * Math.ceil(cpus / 32) + 7) & ~7;
  }

  constructor(options: TlbShootdownOptions) {
    if (options.gpa % 8n !== 0n) throw new RangeError('the shootdown request blocks must be 8-byte aligned');
    this.#o = options;
    this.#base = Number(options.gpa);
    this.#stride = TlbShootdown.#strideFor(options.cpus);
    this.#words = new Int32Array(options.memory.buffer, this.#base, TlbShootdown.bytes(options.cpus) / 4);
    this.#view = new DataView(options.memory.buffer, this.#base, TlbShootdown.bytes(options.cpus));
    options.idt.register(options.vector ?? CALL_FUNCTION_VECTOR, () => {
      this.handleCallFunction();
    });
  }

  flushTlbMulti(cpus: readonly number[], request: FlushRequest): void {
    const o = this.#o;
    const mask = normalizeCpumask({ presentCpus: o.cpus }, cpus);
    const others = mask.filter((cpu) => cpu !== o.self);
    const block = o.self * this.#stride;
    this.counters.sent++;
    if (others.length > 0) {
      const kind = (request.end === TLB_FLUSH_ALL ? KIND_FULL : 0) | (request.pgd === null ? KIND_KERNEL : 0);
      this.#view.setInt32(block + KIND, kind, true);
      this.#view.setBigUint64(block + PGD, request.pgd ?? 0n, true);
      this.#view.setBigUint64(block + START, request.start, true);
      this.#view.setBigUint64(block + END, request.end === TLB_FLUSH_ALL ? 0n : request.end, true);
      Atomics.store(this.#words, (block + PENDING) / 4, others.length);
      for (const t of others) Atomics.or(this.#words, (block + TARGETS) / 4 + (t >>> 5), 1 << (t & 31));
      o.sendIpiMask(others, o.vector ?? CALL_FUNCTION_VECTOR);
      this.counters.ipis += others.length;
    }
    if (others.length < mask.length) flushTlbFunc(o.cpu, request);
    if (others.length === 0) return;
    const acked = o.idt.spinUntil(
      () => Atomics.load(this.#words, (block + PENDING) / 4) === 0,
      o.maxWaitRounds ?? 1_000_000,
    );
    if (!acked) {
      const waiting = others.filter(
        (t) => (Atomics.load(this.#words, (block + TARGETS) / 4 + (t >>> 5)) >>> (t & 31)) & 1,
      );
      throw new CsdLockTimeout(
        `csd: CPU ${o.self} waited ${o.maxWaitRounds ?? 1_000_000} PAUSE rounds for CPU ${waiting.join(', ')} to flush its TLB`,
      );
    }
  }

  /** The call-function handler: serves every request that names this CPU; returns how many. */
  handleCallFunction(): number {
    const o = this.#o;
    const word = o.self >>> 5;
    const bit = 1 << (o.self & 31);
    let served = 0;
    for (let s = 0; s < o.cpus; s++) {
      const block = s * this.#stride;
      const index = (block + TARGETS) / 4 + word;
      if ((Atomics.load(this.#words, index) & bit) === 0) continue;
      const kind = this.#view.getInt32(block + KIND, true);
      flushTlbFunc(o.cpu, {
        pgd: kind & KIND_KERNEL ? null : this.#view.getBigUint64(block + PGD, true),
        start: this.#view.getBigUint64(block + START, true),
        end: kind & KIND_FULL ? TLB_FLUSH_ALL : this.#view.getBigUint64(block + END, true),
      });
      Atomics.and(this.#words, index, ~bit);
      Atomics.sub(this.#words, (block + PENDING) / 4, 1);
      served++;
    }
    this.counters.served += served;
    return served;
  }
}
