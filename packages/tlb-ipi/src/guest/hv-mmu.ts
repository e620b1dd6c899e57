import { normalizeCpumask } from './env.js';
import { chooseFlush, type FlushRequest } from './flush-plan.js';
import type { HvCpu } from './hv-apic.js';
import { executePlan, type PathOutcome } from './hypercall-plan.js';

/** What flushes other CPUs' TLBs without enlightenments (Linux `native_flush_tlb_multi`). */
export interface NativeTlbFlusher {
  /** Flushes `request` on every CPU of `cpus` (this one included) and returns when all are done. */
  flushTlbMulti(cpus: readonly number[], request: FlushRequest): void;
}

/**
 * Linux `hyperv_flush_tlb_multi` (spec 02 rules 1–4): flushes `request` on `cpus` with one of the
 * four flush calls when `chooseFlush` allows it, else — or when the call fails — natively.
 */
export function hvFlushTlbOthers(
  hv: HvCpu,
  cpus: Iterable<number>,
  request: FlushRequest,
  native: NativeTlbFlusher,
): PathOutcome {
  const mask = normalizeCpumask(hv.env, cpus);
  const plan = chooseFlush(hv.env, mask, request);
  return executePlan(hv.hypercalls, plan, () => {
    native.flushTlbMulti(mask, request);
  });
}
