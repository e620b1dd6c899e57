import { HV_VP_SET_BANK_SIZE, HV_VP_SET_MAX_BANKS, HvVpSetBank, vpSetBankOffset } from '../wire/vp-set.js';

const { contents } = HvVpSetBank.accessors;

/**
 * The VPs one flush or IPI targets, collected into a list reused across calls. Collecting costs
 * O(banks + targets): set bits are found with `clz32`, never by visiting every VP of the VM.
 * VP indexes at or beyond the partition's VP count are ignored (spec 02 rule 11).
 */
export class TargetList {
  /** The partition's VP count: higher VP indexes are dropped. */
  readonly vcpus: number;
  /** The targets, ascending, in `vps[0 .. length)`. */
  readonly vps: Uint16Array;
  /** Number of targets collected since the last `clear()`. */
  length = 0;

  constructor(vcpus: number) {
    this.vcpus = vcpus;
    this.vps = new Uint16Array(vcpus);
  }

  /** Empties the list. */
  clear(): void {
    this.length = 0;
  }

  /** Every VP of the partition (HV_FLUSH_ALL_PROCESSORS, HV_GENERIC_SET_ALL). */
  addAll(): void {
    const vps = this.vps;
    for (let vp = 0; vp < this.vcpus; vp++) vps[vp] = vp;
    this.length = this.vcpus;
  }

  /** The VPs of bank `bank` (VPs 64·bank … 64·bank + 63), the u64 given as its two u32 halves. */
  addBank(bank: number, lo: number, hi: number): void {
    const base = bank * HV_VP_SET_BANK_SIZE;
    if (base >= this.vcpus) return;
    if (this.#addWord(base, lo)) this.#addWord(base + 32, hi);
  }

  /**
   * The VPs of the sparse HV_VP_SET whose header is at `offset` in `view`: one bank per set bit
   * of `validBanksMask`, in ascending bank order after the header. The caller has checked that
   * `view` holds popcount(validBanksMask) banks.
   */
  addSparseSet(view: DataView, offset: number, validBanksMask: bigint): void {
    const lastBank = Math.min(HV_VP_SET_MAX_BANKS, Math.ceil(this.vcpus / HV_VP_SET_BANK_SIZE)) - 1;
    let element = 0;
    for (let half = 0; half < 2; half++) {
      let w = Number((validBanksMask >> BigInt(32 * half)) & 0xffff_ffffn);
      while (w !== 0) {
        const low = w & -w;
        const bank = 32 * half + 31 - Math.clz32(low);
        // Banks ascend, so the first one beyond the VM ends the set.
        if (bank > lastBank) return;
        const at = vpSetBankOffset(offset, element);
        this.addBank(bank, contents.getLow(view, at), contents.getHigh(view, at));
        element++;
        w = (w & ~low) >>> 0;
      }
    }
  }

  /** Adds the set bits of a u32 as VPs from `base`; `false` once a VP is beyond the VM. */
  #addWord(base: number, word: number): boolean {
    const vps = this.vps;
    let w = word >>> 0;
    while (w !== 0) {
      const low = w & -w;
      const vp = base + 31 - Math.clz32(low);
      if (vp >= this.vcpus) return false;
      vps[this.length++] = vp;
      w = (w & ~low) >>> 0;
    }
    return true;
  }
}
