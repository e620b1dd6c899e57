import { ExtensionKey, type HvPartition } from '@pvlab/hypercall/host';
import type { DecodedGvaRange } from '../wire/flush.js';
import { KvmFlushFifo } from './kvm-flush-fifo.js';
import { TargetList } from './targets.js';

/** The package name, under which the host state is kept in the partition. */
export const TLB_IPI_PACKAGE = 'tlb-ipi';

/**
 * How a flush changes a target VP's TLB. `precise` (default): exactly what the flags and ranges
 * name. `kvm-fifo`: as KVM does, through a 16-slot per-VP queue that degrades to a full flush.
 */
export type TlbFlushMode = 'precise' | 'kvm-fifo';

/** The accepted `TlbFlushMode` values. */
export const TLB_FLUSH_MODES: readonly TlbFlushMode[] = ['precise', 'kvm-fifo'];

/** Counters of what the tlb-ipi hypercalls did, for tests and traces. */
export interface TlbIpiCounters {
  /** Flush calls that returned SUCCESS (a time-sliced List call counts once per invocation). */
  flushes: number;
  /** IPI calls that returned SUCCESS. */
  ipis: number;
  /** Interrupts delivered (one per target VP of a successful IPI call). */
  interruptsDelivered: number;
  /** Target TLBs flushed. */
  targetFlushes: number;
}

/** The tlb-ipi host state of one partition: the flush mode, per-VP queues and scratch lists. */
export class TlbIpiHostState {
  readonly flushMode: TlbFlushMode;
  /** The targets of the call being handled (reused; never read across calls). */
  readonly targets: TargetList;
  /** The decoded GVA ranges of the List invocation being handled (reused). */
  readonly ranges: DecodedGvaRange[] = [];
  /** The raw GVA-range entries of the List invocation being handled (reused). */
  readonly rawRanges: bigint[] = [];
  readonly counters: TlbIpiCounters = { flushes: 0, ipis: 0, interruptsDelivered: 0, targetFlushes: 0 };
  readonly #fifos: (KvmFlushFifo | undefined)[];

  constructor(vcpus: number, flushMode: TlbFlushMode) {
    this.flushMode = flushMode;
    this.targets = new TargetList(vcpus);
    this.#fifos = new Array<KvmFlushFifo | undefined>(vcpus);
  }

  /** The VPs whose KVM flush queue exists (was ever used), ascending. */
  fifoVps(): number[] {
    const vps: number[] = [];
    this.#fifos.forEach((fifo, vp) => {
      if (fifo !== undefined) vps.push(vp);
    });
    return vps;
  }

  /** VP `vp`'s KVM flush queue (made on first use, so a 4096-VP VM pays only for VPs flushed). */
  fifo(vp: number): KvmFlushFifo {
    let fifo = this.#fifos[vp];
    if (fifo === undefined) {
      fifo = new KvmFlushFifo();
      this.#fifos[vp] = fifo;
    }
    return fifo;
  }
}

/** The key of the tlb-ipi host state in a partition. */
export const TLB_IPI_STATE = new ExtensionKey<TlbIpiHostState>(TLB_IPI_PACKAGE);

/** The tlb-ipi host state installed in `partition`, or an Error when the package is not installed. */
export function tlbIpiHostState(partition: HvPartition): TlbIpiHostState {
  const state = partition.extensionState(TLB_IPI_STATE);
  if (state === undefined)
    throw new Error(`the ${TLB_IPI_PACKAGE} package is not installed in this partition`);
  return state;
}
