import type { SoftwareTlb } from '@pvlab/hypercall/host';
import { decodeGvaRange } from '../wire/flush.js';

/** KVM_HV_TLB_FLUSH_FIFO_SIZE: slots in each vCPU's flush queue (spec 02 rule 15). */
export const KVM_HV_TLB_FLUSH_FIFO_SIZE = 16;
/** KVM_HV_TLB_FLUSHALL_ENTRY: the flush-everything marker, a u64 of all ones. */
export const KVM_HV_TLB_FLUSHALL_ENTRY = 0xffff_ffff_ffff_ffffn;

/** What draining a queue did to the TLB. */
export type KvmFifoDrain = 'empty' | 'ranges' | 'all';

/**
 * One VP's KVM-style flush queue (spec 02 rule 15): 16 slots of raw GVA-range entries. A request
 * goes in whole only if it leaves one slot free; otherwise a single flush-everything marker goes
 * in instead. Draining flushes the queued ranges, or everything once a marker is seen.
 */
export class KvmFlushFifo {
  readonly #entries = new BigUint64Array(KVM_HV_TLB_FLUSH_FIFO_SIZE);
  // Whether each queued entry uses the extended range format: pvlab decodes per flag (rule 16).
  readonly #extended = new Uint8Array(KVM_HV_TLB_FLUSH_FIFO_SIZE);
  #count = 0;
  /** Requests that did not fit and became a flush-everything marker (Space calls excluded). */
  overflows = 0;
  /** Drains that ended in a full flush. */
  fullFlushes = 0;

  /** Entries queued now. */
  get length(): number {
    return this.#count;
  }

  /** The queued raw entries, oldest first, each with whether it uses the extended range format. */
  queued(): { entry: bigint; extended: boolean }[] {
    return Array.from({ length: this.#count }, (_, i) => ({
      entry: this.#entries[i]!,
      extended: this.#extended[i] === 1,
    }));
  }

  /** Replaces the queue (a snapshot restore); at most 16 entries, as the queue holds. */
  load(queued: readonly { entry: bigint; extended: boolean }[]): void {
    if (queued.length > KVM_HV_TLB_FLUSH_FIFO_SIZE) {
      throw new RangeError(
        `a KVM flush queue holds at most ${KVM_HV_TLB_FLUSH_FIFO_SIZE} entries; got ${queued.length}`,
      );
    }
    queued.forEach((q, i) => {
      this.#entries[i] = q.entry;
      this.#extended[i] = q.extended ? 1 : 0;
    });
    this.#count = queued.length;
  }

  /** `hv_tlb_flush_enqueue` for a List call: all `count` entries if `count` < free slots, else the marker. */
  enqueue(entries: ArrayLike<bigint>, count: number, extended: boolean): void {
    if (count > 0 && count < KVM_HV_TLB_FLUSH_FIFO_SIZE - this.#count) {
      for (let i = 0; i < count; i++) {
        this.#entries[this.#count] = entries[i] ?? 0n;
        this.#extended[this.#count] = extended ? 1 : 0;
        this.#count++;
      }
      return;
    }
    this.overflows++;
    this.enqueueFlushAll();
  }

  /** `hv_tlb_flush_enqueue` for a Space call: the marker (a full queue already holds one). */
  enqueueFlushAll(): void {
    if (this.#count < KVM_HV_TLB_FLUSH_FIFO_SIZE) {
      this.#entries[this.#count] = KVM_HV_TLB_FLUSHALL_ENTRY;
      this.#extended[this.#count] = 0;
      this.#count++;
    }
  }

  /**
   * `kvm_hv_vcpu_flush_tlb`: flushes each queued range in every address space, global entries
   * included (KVM invalidates by GVA for the whole vCPU), or the whole TLB at the first marker.
   */
  drain(tlb: SoftwareTlb): KvmFifoDrain {
    const count = this.#count;
    this.#count = 0;
    if (count === 0) return 'empty';
    for (let i = 0; i < count; i++) {
      const entry = this.#entries[i]!;
      if (entry === KVM_HV_TLB_FLUSHALL_ENTRY) {
        tlb.flushAll();
        this.fullFlushes++;
        return 'all';
      }
      const range = decodeGvaRange(entry, this.#extended[i] === 1);
      if (range !== undefined) tlb.flushRange(range.gva, range.pages, range.pageBytes, 'all');
    }
    return 'ranges';
  }
}
