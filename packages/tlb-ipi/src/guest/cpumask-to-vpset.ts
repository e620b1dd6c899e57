import { HV_VP_SET_BANK_SIZE, HV_VP_SET_MAX_BANKS, VpIndexSet } from '../wire/vp-set.js';
import { type HvCpuEnv, hvCpuNumberToVpNumber, isVpInval } from './env.js';

/** What `cpumaskToVpSet` built. */
export interface CpumaskVpSet {
  /**
   * Linux's return value: the bank count (≥ 1, banks 0..n−1 written densely), −1 when a CPU has
   * no VP index, 0 when `hv_max_vp_index` needs more than 64 banks.
   */
  readonly nrBank: number;
  /** The VPs of the set (empty unless `nrBank` ≥ 1). */
  readonly vps: VpIndexSet;
}

/**
 * Linux `cpumask_to_vpset_skip` (spec 02 rule 7): the VP set of `cpus` (ascending), leaving out
 * those `skip` names. `nrBank` starts at 1, so a set whose CPUs were all skipped is one all-zero
 * bank. With `vpInvalCheck` off, a VP_INVAL entry is the `int` −1: `__set_bit(−1, &bank[0])`
 * sets bit 63 of the word before the banks (ValidBanksMask, which is written afterwards), so the
 * CPU silently drops out of the set.
 */
export function cpumaskToVpSet(
  env: HvCpuEnv,
  cpus: readonly number[],
  skip?: (cpu: number) => boolean,
): CpumaskVpSet {
  const vps = new VpIndexSet();
  const maxVcpuBank = Math.trunc(env.vpIndex.maxVpIndex() / HV_VP_SET_BANK_SIZE);
  if (maxVcpuBank >= HV_VP_SET_MAX_BANKS) return { nrBank: 0, vps };
  let nrBank = 1;
  for (const cpu of cpus) {
    if (skip?.(cpu)) continue;
    const vp = hvCpuNumberToVpNumber(env, cpu);
    if (isVpInval(env, vp)) return { nrBank: -1, vps: new VpIndexSet() };
    if (vp < 0) continue;
    vps.add(vp);
    const bank = Math.trunc(vp / HV_VP_SET_BANK_SIZE);
    if (bank >= nrBank) nrBank = bank + 1;
  }
  return { nrBank, vps };
}
