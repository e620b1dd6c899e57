/** Linux's `VP_INVAL` (U32_MAX): a CPU whose VP index is not known yet. */
export const VP_INVAL = 0xffff_ffff;

/**
 * Linux's `hv_vp_index[]`: CPU number → VP index, all VP_INVAL until each CPU fills its own
 * entry from HV_X64_MSR_VP_INDEX as it comes online (spec 02 rule 8). Entries are read and
 * written atomically, so the table may live in guest memory shared by vCPU threads.
 */
export class VpIndexTable {
  readonly #table: Uint32Array;

  /**
   * A table for `cpus` CPUs, all VP_INVAL; or over `storage` (e.g. a view of guest RAM that
   * every vCPU thread maps), left as it is — the boot CPU calls `reset()` before the others run.
   */
  constructor(cpus: number, storage?: Uint32Array) {
    if (storage !== undefined && storage.length < cpus) {
      throw new RangeError(
        `a VP index table for ${cpus} CPUs needs ${cpus} entries; the storage has ${storage.length}`,
      );
    }
    this.#table = storage ? storage.subarray(0, cpus) : new Uint32Array(cpus).fill(VP_INVAL);
  }

  /** Sets every entry back to VP_INVAL. */
  reset(): void {
    for (let i = 0; i < this.#table.length; i++) Atomics.store(this.#table, i, VP_INVAL);
  }

  /** Number of CPUs the table covers. */
  get cpus(): number {
    return this.#table.length;
  }

  /** The VP index of `cpu`, or VP_INVAL when it is not online yet. */
  get(cpu: number): number {
    const v =
      cpu >= 0 && cpu < this.#table.length && Number.isInteger(cpu)
        ? Atomics.load(this.#table, cpu)
        : undefined;
    if (v === undefined)
      throw new RangeError(`CPU ${cpu} is not in the table: use 0..${this.#table.length - 1}`);
    return v;
  }

  /** Records the VP index a CPU read while coming online. */
  set(cpu: number, vpIndex: number): void {
    if (cpu < 0 || cpu >= this.#table.length || !Number.isInteger(cpu)) {
      throw new RangeError(`CPU ${cpu} is not in the table: use 0..${this.#table.length - 1}`);
    }
    Atomics.store(this.#table, cpu, vpIndex);
  }

  /** The highest known VP index (Linux `hv_max_vp_index`), or -1 when none is known. */
  maxVpIndex(): number {
    let max = -1;
    for (let i = 0; i < this.#table.length; i++) {
      const v = Atomics.load(this.#table, i);
      if (v !== VP_INVAL && v > max) max = v;
    }
    return max;
  }
}
