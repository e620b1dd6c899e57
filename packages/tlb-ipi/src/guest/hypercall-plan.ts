import { encodeHypercallControl, HvCallCode, type HvCallName, HvStatus } from '@pvlab/hypercall';
import type { GuestHypercalls, HypercallOutcome } from '@pvlab/hypercall/guest';

/** The six hypercalls of spec 02, by their TLFS names (entries of the `HvCallCode` table). */
const TLB_IPI_CALLS = [
  'HvCallFlushVirtualAddressSpace',
  'HvCallFlushVirtualAddressList',
  'HvCallFlushVirtualAddressSpaceEx',
  'HvCallFlushVirtualAddressListEx',
  'HvCallSendSyntheticClusterIpi',
  'HvCallSendSyntheticClusterIpiEx',
] as const satisfies readonly HvCallName[];

/** One of the six hypercalls of spec 02: a subset of `HvCallName`. */
export type TlbIpiCallName = (typeof TLB_IPI_CALLS)[number];

/** A hypercall the guest will issue: what goes in RCX and in the input page (or registers). */
export interface HypercallPlan {
  readonly kind: 'hypercall';
  readonly name: TlbIpiCallName;
  readonly code: number;
  /** The control value (RCX) of the first invocation; a rep call re-issues with RepStartIndex. */
  readonly control: bigint;
  readonly fast: boolean;
  readonly repCount: number;
  /** VariableHeaderSize in 8-byte units (the HV_VP_SET banks of an Ex call). */
  readonly variableHeaderSize: number;
  /**
   * The input bytes the call reads: for a memory call the start of the per-CPU input page (fixed
   * header, variable header, rep elements); for a fast call the RDX‖R8 image.
   */
  readonly input: Uint8Array;
  /** A fast call's RDX and R8; empty for a memory call. */
  readonly registers: readonly bigint[];
}

/** Why a flush or IPI goes the native way (Linux's `goto do_native` / `return false`). */
export type NativeReason =
  | 'not-recommended'
  | 'no-input-page'
  | 'vector-out-of-range'
  | 'vp-inval'
  | 'ex-not-recommended'
  | 'vp-set-unrepresentable'
  | 'hypercall-failed';

/** One line per `NativeReason`, naming the spec 02 rule. */
export const NATIVE_REASONS: Readonly<Record<NativeReason, string>> = {
  'not-recommended': 'the hypervisor does not recommend the enlightened path (rule 1)',
  'no-input-page': 'no hypercall page or per-CPU input page (rule 2)',
  'vector-out-of-range': 'vector outside 0x10–0xFF (rule 5)',
  'vp-inval': 'a target CPU has no VP index yet: hv_vp_index[] is VP_INVAL (rules 2, 5, 8)',
  'ex-not-recommended': 'a target VP is ≥ 64 and ExProcessorMasks is not recommended (rules 4, 6)',
  'vp-set-unrepresentable': 'cpumask_to_vpset gave no bank (rule 6)',
  'hypercall-failed': 'the hypercall did not return HV_STATUS_SUCCESS (rules 4, 5)',
};

/** The flush or IPI goes the native way. */
export interface NativePlan {
  readonly kind: 'native';
  readonly reason: Exclude<NativeReason, 'hypercall-failed'>;
}

/** Nothing to send: Linux returns without a call and without a native IPI. */
export interface NoCallPlan {
  readonly kind: 'none';
  readonly reason: 'empty-mask' | 'only-self';
}

/** What a choice function decided. */
export type PathPlan = HypercallPlan | NativePlan | NoCallPlan;

/** A memory-form plan over `input` (control from the code, rep count and variable header). */
export function memoryPlan(
  name: TlbIpiCallName,
  input: Uint8Array,
  repCount: number,
  variableHeaderSize: number,
): HypercallPlan {
  const code = HvCallCode[name];
  return {
    kind: 'hypercall',
    name,
    code,
    control: encodeHypercallControl({ callCode: code, repCount, variableHeaderSize }),
    fast: false,
    repCount,
    variableHeaderSize,
    input,
    registers: [],
  };
}

/**
 * A register-fast plan over a 16-byte `input`: RDX and R8 are its two little-endian u64s (the fast
 * form is the memory layout cut into 8-byte slots, spec 01 rule 11).
 */
export function fastPlan(name: TlbIpiCallName, input: Uint8Array): HypercallPlan {
  const code = HvCallCode[name];
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  return {
    kind: 'hypercall',
    name,
    code,
    control: encodeHypercallControl({ callCode: code, fast: true }),
    fast: true,
    repCount: 0,
    variableHeaderSize: 0,
    input,
    registers: [view.getBigUint64(0, true), view.getBigUint64(8, true)],
  };
}

/**
 * Issues a plan the way Linux does: `hv_do_fast_hypercall16` for a fast plan; otherwise the input
 * goes into this CPU's input page and `hv_do_hypercall` (simple) or `hv_do_rep_hypercall` (rep,
 * re-issued on continuation) runs it.
 */
export function issueHypercallPlan(
  hc: GuestHypercalls,
  plan: HypercallPlan,
): HypercallOutcome & { readonly invocations: number } {
  if (plan.fast) {
    const r = hc.fast16(plan.code, plan.registers[0] ?? 0n, plan.registers[1] ?? 0n);
    return { ...r, invocations: 1 };
  }
  hc.writeInput(plan.input);
  if (plan.repCount > 0)
    return hc.repCall(plan.code, plan.repCount, { variableHeaderSize: plan.variableHeaderSize });
  return { ...hc.call(plan.control), invocations: 1 };
}

/** What happened to one flush or IPI. */
export type PathOutcome =
  | {
      readonly path: 'hypercall';
      readonly plan: HypercallPlan;
      readonly status: number;
      readonly invocations: number;
    }
  | {
      readonly path: 'native';
      readonly reason: NativeReason;
      /** The call that failed first, for `hypercall-failed`. */
      readonly failed?: { readonly plan: HypercallPlan; readonly status: number };
    }
  | { readonly path: 'none'; readonly reason: NoCallPlan['reason'] };

/**
 * Carries out a plan: the hypercall (and the native path when it does not return SUCCESS — spec
 * 02 rules 4, 5), the native path, or nothing.
 */
export function executePlan(
  hc: GuestHypercalls | undefined,
  plan: PathPlan,
  native: () => void,
): PathOutcome {
  if (plan.kind === 'none') return { path: 'none', reason: plan.reason };
  if (plan.kind === 'native' || hc === undefined) {
    native();
    return { path: 'native', reason: plan.kind === 'native' ? plan.reason : 'no-input-page' };
  }
  const r = issueHypercallPlan(hc, plan);
  if (r.status === HvStatus.SUCCESS)
    return { path: 'hypercall', plan, status: r.status, invocations: r.invocations };
  native();
  return { path: 'native', reason: 'hypercall-failed', failed: { plan, status: r.status } };
}

/** A short name for an outcome, for counters and logs: the call's name, or `native (reason)` / `none (reason)`. */
export function pathOutcomeName(outcome: PathOutcome): string {
  return outcome.path === 'hypercall' ? outcome.plan.name : `${outcome.path} (${outcome.reason})`;
}
