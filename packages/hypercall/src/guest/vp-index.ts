/** Linux's `VP_INVAL` (U32_MAX): a CPU whose VP index is not known yet. */
export const VP_INVAL = 0xffff_ffff;

/**
 * Linux's `hv_vp_index[]`: CPU number → VP index, all VP_INVAL until each CPU fills its own
 * entry from HV_X64_MSR_VP_INDEX as it comes online (spec 02 rule 8).
 */
export class VpIndexTable {
  readonly #table: Uint32Array;

  constructor(cpus: number) {
    this.#table = new Uint32Array(cpus).fill(VP_INVAL);
  }

  /** Number of CPUs the table covers. */
  get cpus(): number {
    return this.#table.length;
  }

  /** The VP index of `cpu`, or VP_INVAL when it is not online yet. */
  get(cpu: number): number {
    const v = this.#table[cpu];
    if (v === undefined)
      throw new RangeError(`CPU ${cpu} is not in the table: use 0..${this.#table.length - 1}`);
    return v;
  }

  /** Records the VP index a CPU read while coming online. */
  set(cpu: number, vpIndex: number): void {
    if (cpu < 0 || cpu >= this.#table.length || !Number.isInteger(cpu)) {
      throw new RangeError(`CPU ${cpu} is not in the table: use 0..${this.#table.length - 1}`);
    }
    this.#table[cpu] = vpIndex;
  }

  /** The highest known VP index (Linux `hv_max_vp_index`), or -1 when none is known. */
  maxVpIndex(): number {
    let max = -1;
    for (const v of this.#table) if (v !== VP_INVAL && v > max) max = v;
    return max;
  }
}
