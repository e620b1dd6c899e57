import { decodeHypercallControlWords, type HypercallControlFields } from '../wire/control.js';
import { HvStatus, type HvStatusCode } from '../wire/status.js';
import type {
  FastSupport,
  HypercallCall,
  HypercallDescriptor,
  HypercallGate,
  RepHypercallCall,
  RepOutcome,
} from './descriptor.js';
import { firstFastOutputSlot, inputLength } from './dispatch-rules.js';

/**
 * A registered call in one fixed shape. Descriptors are object literals of several shapes, so
 * reading their fields on every call would be a megamorphic property load each; the hot path
 * reads these instead.
 */
export class CallEntry {
  readonly descriptor: HypercallDescriptor;
  readonly name: string;
  readonly rep: boolean;
  readonly fast: FastSupport;
  readonly gate: HypercallGate | undefined;
  readonly exactControl: boolean;
  readonly variableHeader: boolean;
  readonly fixedInputBytes: number;
  /** Simple calls: the output's size; rep calls: 0. */
  readonly outputBytes: number;
  /** Rep calls: the element sizes; simple calls: 0. */
  readonly inputElementBytes: number;
  readonly outputElementBytes: number;
  readonly simpleHandler: ((call: HypercallCall) => HvStatusCode) | undefined;
  readonly repHandler: ((call: RepHypercallCall) => RepOutcome) | undefined;
  /** The plan of the control value this call was last made with (guests repeat theirs). */
  plan: CallPlan | undefined = undefined;

  constructor(d: HypercallDescriptor) {
    this.descriptor = d;
    this.name = d.name;
    this.rep = d.kind === 'rep';
    this.fast = d.fast ?? 'none';
    this.gate = d.gate;
    this.exactControl = d.exactControl === true;
    this.variableHeader = d.variableHeader === true;
    this.fixedInputBytes = d.fixedInputBytes;
    this.outputBytes = d.kind === 'simple' ? d.outputBytes : 0;
    this.inputElementBytes = d.kind === 'rep' ? d.inputElementBytes : 0;
    this.outputElementBytes = d.kind === 'rep' ? d.outputElementBytes : 0;
    this.simpleHandler = d.kind === 'simple' ? d.handler.bind(d) : undefined;
    this.repHandler = d.kind === 'rep' ? d.handler.bind(d) : undefined;
  }
}

/** A simple call's view, made once per plan: only `vp` changes between calls. */
export interface ReusableCall extends HypercallCall {
  vp: number;
}

/**
 * What one control value means for one registered call, worked out once: its decoded fields,
 * the outcome of the control-only rules (2 and 3), and the list sizes. Everything here depends
 * on the control value and the descriptor only, never on the VP, memory or features.
 */
export class CallPlan {
  readonly lo: number;
  readonly hi: number;
  readonly fields: HypercallControlFields;
  /** INVALID_HYPERCALL_INPUT when rule 2 or 3 fails (checked after the gate), else −1. */
  readonly ruleStatus: number;
  /** Why rule 2 or 3 failed (for details). */
  readonly ruleReason: string;
  readonly varBytes: number;
  readonly inLen: number;
  readonly outLen: number;
  /** Fast calls: the first register slot output may use (rule 11). */
  readonly firstOutputSlot: number;
  /** Simple calls: the call object the handler gets, or undefined until the dispatcher makes it. */
  simpleCall: ReusableCall | undefined = undefined;

  constructor(desc: CallEntry, lo: number, hi: number) {
    this.lo = lo;
    this.hi = hi;
    const c = Object.freeze(decodeHypercallControlWords(lo, hi));
    this.fields = c;
    // Rule 2: rep fields on simple calls; RepCount 0 or RepStartIndex ≥ RepCount on rep calls.
    const badReps = desc.rep
      ? c.repCount === 0 || c.repStartIndex >= c.repCount
      : c.repCount !== 0 || c.repStartIndex !== 0;
    // Rule 3: a variable header only where the call has one.
    const badHeader = c.variableHeaderSize !== 0 && !desc.variableHeader;
    this.ruleStatus = badReps || badHeader ? HvStatus.INVALID_HYPERCALL_INPUT : -1;
    this.ruleReason = badHeader
      ? `VariableHeaderSize ${c.variableHeaderSize} on a call without a variable header (spec 01 rule 3)`
      : desc.rep
        ? `RepCount ${c.repCount} with RepStartIndex ${c.repStartIndex}: a rep call needs 0 ≤ RepStartIndex < RepCount (spec 01 rule 2)`
        : 'rep fields set on a simple call (spec 01 rule 2)';
    this.varBytes = 8 * c.variableHeaderSize;
    this.inLen = inputLength(desc, c);
    this.outLen = desc.rep ? c.repCount * desc.outputElementBytes : desc.outputBytes;
    this.firstOutputSlot = firstFastOutputSlot(this.inLen);
  }
}
