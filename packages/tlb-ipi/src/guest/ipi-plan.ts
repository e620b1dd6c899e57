import {
  HV_IPI_MAX_VECTOR,
  HV_IPI_MIN_VECTOR,
  SendSyntheticClusterIpiExInput,
  SendSyntheticClusterIpiInput,
} from '../wire/ipi.js';
import {
  HV_VP_SET_BANK_BYTES,
  HV_VP_SET_BANK_SIZE,
  VpIndexSet,
  writeAllVpSet,
  writeSparseVpSet,
} from '../wire/vp-set.js';
import { cpumaskToVpSet } from './cpumask-to-vpset.js';
import { type HvCpuEnv, hvCpuNumberToVpNumber, isPresentMask, isVpInval, normalizeCpumask } from './env.js';
import { fastPlan, memoryPlan, type PathPlan } from './hypercall-plan.js';

/** Options of `chooseIpi`. */
export interface IpiChoiceOptions {
  /** Leave this CPU out even if `cpus` names it (Linux `send_IPI_mask_allbutself`). */
  readonly excludeSelf?: boolean;
  /** Skip the 64-bit mask form and always use 0x0015 (for cost comparisons; not Linux). */
  readonly alwaysEx?: boolean;
}

/**
 * Linux `__send_ipi_mask` as a pure decision (spec 02 rules 1, 5–7): the fast 0x000B call
 * (RDX = vector, R8 = mask) when every target VP is below 64 — it needs the hypercall page, not
 * this CPU's input page —, the Ex call 0x0015 through the input page otherwise, nothing for an
 * empty mask, or the native path.
 */
export function chooseIpi(
  env: HvCpuEnv,
  cpus: Iterable<number>,
  vector: number,
  options: IpiChoiceOptions = {},
): PathPlan {
  if (!env.clusterIpi) return { kind: 'native', reason: 'not-recommended' };
  const mask = normalizeCpumask(env, cpus);
  const excludeSelf = options.excludeSelf === true;
  if (mask.length === 0) return { kind: 'none', reason: 'empty-mask' };
  if (excludeSelf && mask.length === 1 && mask[0] === env.self) return { kind: 'none', reason: 'only-self' };
  // The fast 0x000B call needs only the hypercall page; the Ex call's input page is checked there.
  if (!(env.hypercallPage ?? env.inputPageBytes > 0)) return { kind: 'native', reason: 'no-input-page' };
  if (!Number.isInteger(vector) || vector < HV_IPI_MIN_VECTOR || vector > HV_IPI_MAX_VECTOR)
    return { kind: 'native', reason: 'vector-out-of-range' };
  if (options.alwaysEx) return chooseIpiEx(env, mask, vector, excludeSelf);

  const last = mask.at(-1)!;
  if (hvCpuNumberToVpNumber(env, last) >= HV_VP_SET_BANK_SIZE)
    return chooseIpiEx(env, mask, vector, excludeSelf);
  let cpuMask = 0n;
  for (const cpu of mask) {
    if (excludeSelf && cpu === env.self) continue;
    const vp = hvCpuNumberToVpNumber(env, cpu);
    if (isVpInval(env, vp)) return { kind: 'native', reason: 'vp-inval' };
    if (vp >= HV_VP_SET_BANK_SIZE) return chooseIpiEx(env, mask, vector, excludeSelf);
    // An unchecked VP_INVAL (−1) sets bit 63 of the u64 before cpu_mask — Vector/reserved, of
    // which only the u32 Vector reaches RDX: the CPU is silently left out.
    if (vp >= 0) cpuMask |= 1n << BigInt(vp);
  }
  const input = SendSyntheticClusterIpiInput.encode({ vector, processorMask: cpuMask });
  return fastPlan('HvCallSendSyntheticClusterIpi', input);
}

/** Linux `__send_ipi_mask_ex` (spec 02 rules 6, 7). */
function chooseIpiEx(env: HvCpuEnv, mask: readonly number[], vector: number, excludeSelf: boolean): PathPlan {
  if (!env.exProcessorMasks) return { kind: 'native', reason: 'ex-not-recommended' };
  // Linux reads this CPU's input page after the hint: none yet (before hv_common_cpu_init) → native.
  if (env.inputPageBytes <= 0) return { kind: 'native', reason: 'no-input-page' };
  let nrBank = 0;
  let vps = new VpIndexSet();
  // HV_GENERIC_SET_ALL only for exactly the present CPUs, self included.
  const all = isPresentMask(env, mask) && !excludeSelf;
  if (!all) {
    const set = cpumaskToVpSet(env, mask, excludeSelf ? (cpu) => cpu === env.self : undefined);
    if (set.nrBank < 0) return { kind: 'native', reason: 'vp-inval' };
    if (set.nrBank === 0) return { kind: 'native', reason: 'vp-set-unrepresentable' };
    nrBank = set.nrBank;
    vps = set.vps;
  }
  const bytes = SendSyntheticClusterIpiExInput.size + HV_VP_SET_BANK_BYTES * nrBank;
  if (bytes > env.inputPageBytes) return { kind: 'native', reason: 'vp-set-unrepresentable' };
  const input = new Uint8Array(bytes);
  const view = new DataView(input.buffer);
  SendSyntheticClusterIpiExInput.write(view, 0, { vector });
  const vpSetAt = SendSyntheticClusterIpiExInput.offsetOf('vpSet');
  const written = all ? writeAllVpSet(view, vpSetAt) : writeSparseVpSet(view, vpSetAt, vps, 'dense');
  if (written !== nrBank) throw new Error(`the VP set took ${written} banks, expected ${nrBank}`);
  return memoryPlan('HvCallSendSyntheticClusterIpiEx', input, 0, nrBank);
}
