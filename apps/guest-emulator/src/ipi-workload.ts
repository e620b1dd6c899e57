import type { GuestMemory } from '@pvlab/hypercall';
import { VP_INVAL, type VpIndexTable } from '@pvlab/hypercall/guest';
import { type Idt, type PathOutcome, pathOutcomeName } from '@pvlab/tlb-ipi/guest';
import {
  IPI_BRINGUP_VECTOR_BASE,
  IPI_ONLINE_VECTOR_BASE,
  IPI_STRAY_BYTES,
  IPI_TAG_BYTES,
  type KernelLayout,
  WORKLOAD_SENDERS,
} from './layout.js';

/** The two rounds: while secondaries come online (online CPUs but self), then with every CPU up (all). */
export type IpiRound = 'bring-up' | 'online';
const ROUNDS: readonly IpiRound[] = ['bring-up', 'online'];

// Tag words (u32): the sender writes seq (1, 2, … per sender) before the IPI; the receiver copies
// it into acked when the IPI arrives. vpRead and flags record what the sender saw.
const SEQ = 0;
const ACKED = 1;
const VP_READ = 2;
const FLAGS = 3;
const TARGET_UP = 1;
const BY_HYPERCALL = 2;
// Stray record words: count, vector, sender, intended target, seq, vpRead, receiver.
const STRAY_COUNT = 0;

/** How this CPU sends a workload IPI round: the kernel's `send_IPI_mask(_allbutself)`. */
export type SendIpiMask = (cpus: readonly number[], vector: number, excludeSelf: boolean) => PathOutcome;

/** What the IPI workload found at the end (CPU 0 checks every CPU's tags). */
export interface IpiVerdict {
  /** Workload IPIs sent (one per target). */
  readonly sent: number;
  /** Of those, acknowledged by their intended target. */
  readonly delivered: number;
  /** One line per lost or misdirected IPI, wrong targets first. */
  readonly problems: readonly string[];
}

/**
 * The IPI workload. While the secondaries come online, a few CPUs send rounds to every other
 * CPU in `cpu_online_mask` — which includes a CPU whose VP index is not known yet; once every CPU
 * is up, each of the first `WORKLOAD_SENDERS` CPUs sends one round to every CPU. Each IPI is
 * tagged in guest memory (sender, intended CPU, seq, the hv_vp_index[] entry as read); each
 * receiver acknowledges the tag its vector names, and records an IPI that names no pending tag
 * of its own as a stray. CPU 0 compares sent and received at the end (`verdict`).
 */
export class IpiWorkload {
  readonly #tags: Int32Array;
  readonly #strays: Int32Array;
  readonly #self: number;
  readonly #cpus: number;
  readonly #senders: number;
  readonly #table: VpIndexTable;
  readonly #online: Int32Array;
  readonly #up: Int32Array;
  #seq = 0;
  #onlineSeen = 0;
  /** IPIs this CPU sent and the rounds' outcomes. */
  readonly counters = { sent: 0, received: 0, stray: 0, paths: {} as Record<string, number> };

  constructor(options: {
    memory: Pick<GuestMemory, 'buffer'>;
    layout: KernelLayout;
    self: number;
    cpus: number;
    table: VpIndexTable;
    /** `cpu_online_mask` (set before the VP index is known). */
    online: Int32Array;
    /** CPUs fully up (VP index known). */
    up: Int32Array;
    idt: Idt;
  }) {
    const { memory, layout, cpus } = options;
    this.#self = options.self;
    this.#cpus = cpus;
    this.#senders = Math.min(cpus, WORKLOAD_SENDERS);
    this.#tags = new Int32Array(
      memory.buffer,
      Number(layout.ipiTags),
      (2 * this.#senders * cpus * IPI_TAG_BYTES) / 4,
    );
    this.#strays = new Int32Array(memory.buffer, Number(layout.ipiStrays), (cpus * IPI_STRAY_BYTES) / 4);
    this.#table = options.table;
    this.#online = options.online;
    this.#up = options.up;
    for (const round of ROUNDS) {
      for (let s = 0; s < this.#senders; s++) {
        options.idt.register(vectorOf(round, s), (vector) => {
          this.#receive(round, s, vector);
        });
      }
    }
  }

  /**
   * Sends this CPU's IPI round (a no-op for CPUs beyond the senders). `bring-up`: to every other
   * CPU in `cpu_online_mask` — sent again each time a CPU has come online since, and never to a
   * CPU that has not acknowledged this sender's previous IPI yet (so one IPI is never hidden by a
   * later one). `online`: once, to every CPU, this one included.
   */
  round(round: IpiRound, send: SendIpiMask): void {
    if (this.#self >= this.#senders) return;
    const all = Array.from({ length: this.#cpus }, (_, cpu) => cpu);
    let targets = all;
    if (round === 'bring-up') {
      const online = all.filter((cpu) => Atomics.load(this.#online, cpu) !== 0);
      if (online.length === this.#onlineSeen) return;
      this.#onlineSeen = online.length;
      targets = online.filter((t) => t !== this.#self && !this.#pending(round, this.#self, t));
      if (targets.length === 0) return;
    }
    for (const t of targets) {
      const tag = this.#tag(round, this.#self, t);
      this.#tags[tag + VP_READ] = this.#table.get(t) | 0;
      this.#tags[tag + FLAGS] = Atomics.load(this.#up, t) !== 0 ? TARGET_UP : 0;
      Atomics.store(this.#tags, tag + SEQ, ++this.#seq);
    }
    const outcome = send(targets, vectorOf(round, this.#self), false);
    this.counters.sent += targets.length;
    const key = pathOutcomeName(outcome);
    this.counters.paths[key] = (this.counters.paths[key] ?? 0) + 1;
    if (outcome.path === 'hypercall') {
      for (const t of targets) this.#tags[this.#tag(round, this.#self, t) + FLAGS]! |= BY_HYPERCALL;
    }
  }

  /**
   * CPU 0, after every CPU has sent its rounds and taken its last interrupts: every tag sent must
   * have been acknowledged by its intended target, and no CPU may have got a stray.
   */
  verdict(): IpiVerdict {
    const problems: string[] = [];
    const explained = new Set<number>();
    for (let r = 0; r < this.#cpus; r++) {
      const base = (r * IPI_STRAY_BYTES) / 4;
      if (Atomics.load(this.#strays, base + STRAY_COUNT) === 0) continue;
      const [vector, s, t, seq, vpRead] = [1, 2, 3, 4, 5].map((i) => this.#strays[base + i]!);
      if (t! < 0) {
        problems.push(
          `stray IPI: vector ${hex(vector!)} from CPU ${s} arrived at CPU ${r} with nothing pending for it`,
        );
        continue;
      }
      const round = vector! >= IPI_BRINGUP_VECTOR_BASE ? 'bring-up' : 'online';
      const tag = this.#tag(round, s!, t!);
      explained.add(tag);
      problems.push(
        `wrong target: CPU ${s} → CPU ${t} (vector ${hex(vector!)}, seq ${seq}) arrived at CPU ${r}; ${this.#how(tag, t!, vpRead!)}`,
      );
    }
    let sent = 0;
    let delivered = 0;
    for (const round of ROUNDS) {
      for (let s = 0; s < this.#senders; s++) {
        for (let t = 0; t < this.#cpus; t++) {
          const tag = this.#tag(round, s, t);
          const seq = Atomics.load(this.#tags, tag + SEQ);
          if (seq === 0) continue;
          sent++;
          if (Atomics.load(this.#tags, tag + ACKED) === seq) {
            delivered++;
            continue;
          }
          if (explained.has(tag)) continue;
          problems.push(
            `lost IPI: CPU ${s} → CPU ${t} (vector ${hex(vectorOf(round, s))}, seq ${seq}); ${this.#how(tag, t, this.#tags[tag + VP_READ]!)}`,
          );
        }
      }
    }
    return { sent, delivered, problems };
  }

  // What the sender saw: the hv_vp_index[] entry, whether the target was up, the path taken.
  #how(tag: number, target: number, vpRead: number): string {
    const flags = this.#tags[tag + FLAGS]!;
    const vp = vpRead >>> 0 === VP_INVAL ? 'VP_INVAL (−1)' : String(vpRead >>> 0);
    const when = flags & TARGET_UP ? '' : ` while CPU ${target} was coming online`;
    return `the sender read hv_vp_index[${target}] = ${vp}${when}, sent ${flags & BY_HYPERCALL ? 'by hypercall' : 'natively'}`;
  }

  #pending(round: IpiRound, sender: number, target: number): boolean {
    const tag = this.#tag(round, sender, target);
    return Atomics.load(this.#tags, tag + ACKED) !== Atomics.load(this.#tags, tag + SEQ);
  }

  #tag(round: IpiRound, sender: number, target: number): number {
    const r = round === 'bring-up' ? 0 : 1;
    return (((r * this.#senders + sender) * this.#cpus + target) * IPI_TAG_BYTES) / 4;
  }

  // The handler of sender s's vector in `round`: acknowledge our tag, or record a stray.
  #receive(round: IpiRound, s: number, vector: number): void {
    const tag = this.#tag(round, s, this.#self);
    const seq = Atomics.load(this.#tags, tag + SEQ);
    if (seq !== 0 && Atomics.load(this.#tags, tag + ACKED) !== seq) {
      Atomics.store(this.#tags, tag + ACKED, seq);
      this.counters.received++;
      return;
    }
    // Not for us: which of s's IPIs of this round is still waiting for its target?
    this.counters.stray++;
    const base = (this.#self * IPI_STRAY_BYTES) / 4;
    if (Atomics.add(this.#strays, base + STRAY_COUNT, 1) > 0) return;
    // Best guess first: a tag whose hv_vp_index[] read names this CPU, then one sent to an
    // offline CPU, then any still pending.
    const myVp = this.#table.get(this.#self) | 0;
    let intended = -1;
    let rank = 0;
    for (let t = 0; t < this.#cpus; t++) {
      const other = this.#tag(round, s, t);
      const pending = Atomics.load(this.#tags, other + SEQ);
      if (t === this.#self || pending === 0 || Atomics.load(this.#tags, other + ACKED) === pending) continue;
      const r =
        this.#tags[other + VP_READ] === myVp ? 3 : (this.#tags[other + FLAGS]! & TARGET_UP) === 0 ? 2 : 1;
      if (r > rank) {
        rank = r;
        intended = t;
      }
    }
    const other = intended < 0 ? tag : this.#tag(round, s, intended);
    this.#strays.set(
      [vector, s, intended, Atomics.load(this.#tags, other + SEQ), this.#tags[other + VP_READ]!],
      base + 1,
    );
  }
}

/** The vector sender `s` uses in `round`. */
export function vectorOf(round: IpiRound, s: number): number {
  return (round === 'bring-up' ? IPI_BRINGUP_VECTOR_BASE : IPI_ONLINE_VECTOR_BASE) + s;
}

const hex = (n: number) => `0x${n.toString(16)}`;
