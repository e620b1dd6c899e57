import type { GuestHypercalls } from '@pvlab/hypercall/guest';
import { type HvCpuEnv, normalizeCpumask } from './env.js';
import { executePlan, type PathOutcome } from './hypercall-plan.js';
import { chooseIpi } from './ipi-plan.js';
import type { NativeIpiSender } from './native-apic.js';

/** One CPU's enlightened paths: what it knows, and its hypercall helpers (none without a page). */
export interface HvCpu {
  readonly env: HvCpuEnv;
  readonly hypercalls: GuestHypercalls | undefined;
}

/**
 * Linux `hv_send_ipi_mask` / `hv_send_ipi_mask_allbutself` (spec 02 rules 5–7): `vector` to
 * `cpus` by 0x000B or 0x0015 when `chooseIpi` allows it, else — or when the call fails — by the
 * native APIC.
 */
export function hvSendIpiMask(
  hv: HvCpu,
  cpus: Iterable<number>,
  vector: number,
  native: NativeIpiSender,
  options: { readonly excludeSelf?: boolean } = {},
): PathOutcome {
  const mask = normalizeCpumask(hv.env, cpus);
  const excludeSelf = options.excludeSelf === true;
  const plan = chooseIpi(hv.env, mask, vector, { excludeSelf });
  return executePlan(hv.hypercalls, plan, () => {
    native.sendIpiMask(mask, vector, excludeSelf);
  });
}

/** Linux `hv_send_ipi`: one CPU. */
export function hvSendIpi(hv: HvCpu, cpu: number, vector: number, native: NativeIpiSender): PathOutcome {
  return hvSendIpiMask(hv, [cpu], vector, native);
}
