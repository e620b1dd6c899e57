import { HvStatus, type HvStatusCode } from '../wire/status.js';
import { buildDetail, type CallDiagnostic, type HypercallDetail } from './call-detail.js';
import type { CallEntry, CallPlan } from './call-plan.js';
import type { HypercallIo } from './calling-convention.js';
import type { Staging } from './staging.js';

/** What the dispatcher knows of a call when it records its detail (details on only). */
export interface DescribedCall {
  readonly io: HypercallIo;
  /** The control's low word: its Fast bit is read from here when no plan decoded the control. */
  readonly lo: number;
  readonly desc: CallEntry | undefined;
  /** Undefined when rule 1, the call code or the gate refused the call (checks made before the plan). */
  readonly plan: CallPlan | undefined;
  readonly status: HvStatusCode;
  readonly reps: number;
  /** The reason a rule or the handler gave (`CurrentCall.reason`), and whether a rule refused the call. */
  readonly reason: string | undefined;
  readonly ruleFailed: boolean;
  /** A call that did not complete: its reason, and whether its input was staged (a suspension). */
  readonly ended: { readonly reason: string; readonly staged: boolean } | undefined;
  readonly staging: Staging;
  readonly diagnostics: readonly CallDiagnostic[];
}

/**
 * The detail of the call just dispatched. The checks `dispatch` makes before the plan and rules
 * 2–3 are re-derived here, keeping their reasons off the hot path; later rules set the call's
 * reason as they fail.
 */
export function describeCall(d: DescribedCall): HypercallDetail {
  const { io, desc, plan, status, reps, ended } = d;
  let reason = ended === undefined ? d.reason : ended.reason;
  let staged = ended === undefined ? !d.ruleFailed : ended.staged;
  if (plan === undefined) {
    staged = false;
    reason =
      status === HvStatus.INVALID_HYPERCALL_INPUT
        ? 'reserved or Nested control bits set (spec 01 rule 1)'
        : desc === undefined
          ? 'no hypercall has this call code'
          : `not exposed: ${desc.gate?.description}`;
  } else if (plan.ruleStatus >= 0) {
    staged = false;
    reason = plan.ruleReason;
  }
  const c = plan?.fields;
  const fast = c?.fast ?? (d.lo & 0x1_0000) !== 0;
  return buildDetail({
    inputGpa: fast || plan?.inLen === 0 ? undefined : io.inputGpa,
    outputGpa: fast || plan?.outLen === 0 ? undefined : io.outputGpa,
    decoder: desc?.descriptor.describe,
    view:
      staged && c !== undefined && plan !== undefined
        ? {
            control: c,
            input: d.staging.input(plan.inLen),
            variableHeaderBytes: plan.varBytes,
            output: d.staging.output(plan.outLen),
            status,
            repsCompleted: reps,
          }
        : undefined,
    outputWritten:
      ended === undefined &&
      staged &&
      plan !== undefined &&
      (desc?.rep ? reps > plan.fields.repStartIndex : status === HvStatus.SUCCESS) &&
      plan.outLen > 0,
    status,
    reason,
    diagnostics: d.diagnostics,
  });
}
