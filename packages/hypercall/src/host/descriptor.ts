import type { HypercallControlFields } from '../wire/control.js';
import type { HvFeatureName } from '../wire/cpuid.js';
import type { HvStatusCode } from '../wire/status.js';
import type { HypercallDecoder } from './call-detail.js';

/** Which fast (register) forms a hypercall accepts. `xmm` implies `register`. */
export type FastSupport = 'none' | 'register' | 'xmm';

/** What a partition exposes, as hypercall gates see it. */
export interface FeatureView {
  /** `true` when the partition exposes the feature bit. */
  has(feature: HvFeatureName): boolean;
  /** Leaf 0x40000004 EBX: the spin-wait retry count (0xFFFFFFFF = never notify). */
  readonly spinWaitRetryCount: number;
}

/** The privilege or recommendation that gates a hypercall; closed gate → HV_STATUS_ACCESS_DENIED. */
export interface HypercallGate {
  /** For docs and diagnostics, e.g. `CPUID 0x40000004 EAX bit 2 (RemoteTlbFlushRecommended)`. */
  readonly description: string;
  isOpen(features: FeatureView): boolean;
}

/** A gate open when every named feature bit is exposed. */
export function requireFeatures(...names: HvFeatureName[]): HypercallGate {
  return {
    description: names.join(' + '),
    isOpen: (f) => names.every((n) => f.has(n)),
  };
}

/**
 * What every handler sees: the caller, the decoded control and the copied input. The dispatcher
 * reuses this object, its control fields and its views for later calls (a guest repeats its
 * control values): read what you need while the handler runs, and keep no reference to it.
 */
export interface HypercallCall {
  /** VP index of the caller. */
  readonly vp: number;
  readonly control: HypercallControlFields;
  /**
   * The whole input list, copied out of guest memory (or registers) before dispatch so that
   * other vCPUs cannot change it under the handler: fixed header, variable header, rep elements.
   */
  readonly input: DataView;
  /** Bytes of variable header (8 × VariableHeaderSize), after the fixed header. */
  readonly variableHeaderBytes: number;
  /**
   * The output area, zero-filled. The dispatcher copies it to the guest after the handler:
   * all of it on success for simple calls, only the completed elements for rep calls.
   */
  readonly output: DataView;
  /** Records a conformance diagnostic (spec rule id and message) against the caller. */
  diagnose(rule: string, message: string): void;
  /**
   * Suspends the caller until VP `waitingOn` is resumed (spec 03 rule 9): the call ends here (this
   * unwinds the handler; the dispatcher catches it), writes no output and no result, and
   * `HvPartition.dispatchHypercall` returns the suspension (`HvPartition.hypercall` throws it as
   * `HypercallSuspended`). Call it before changing any state: the guest re-executes the call.
   */
  suspend(waitingOn: number, reason: string): never;
  /**
   * Returns `status` and records why the handler chose it (one phrase, e.g. `vector 0x5 is below
   * 0x10`), for traces and `--json`: `return call.fail(HvStatus.INVALID_PARAMETER, '…')`.
   */
  fail(status: HvStatusCode, reason: string): HvStatusCode;
}

/** A rep call's view: the elements this invocation may process are `[repStart, repEnd)`. */
export interface RepHypercallCall extends HypercallCall {
  readonly repStart: number;
  /** Exclusive; below RepCount when the partition's time slice (maxRepsPerCall) cuts the call. */
  readonly repEnd: number;
  /** Byte offset of input element `i` in `input`. */
  inputElementOffset(i: number): number;
  /** Byte offset of output element `i` in `output`. */
  outputElementOffset(i: number): number;
}

/** How far a rep handler got: `repsCompleted` is absolute (RepStartIndex ≤ it ≤ repEnd). */
export interface RepOutcome {
  readonly status: HvStatusCode;
  readonly repsCompleted: number;
}

interface HypercallDescriptorBase {
  /** CallCode. */
  readonly code: number;
  /** Spec name, e.g. `HvCallNotifyLongSpinWait`. */
  readonly name: string;
  /** Fixed input header in bytes (a multiple of 8; 0 when none). */
  readonly fixedInputBytes: number;
  /** Whether VariableHeaderSize may be nonzero. */
  readonly variableHeader?: boolean;
  readonly fast?: FastSupport;
  readonly gate?: HypercallGate;
  /**
   * The control word must be exactly the call code: any other bit set injects #UD instead of a
   * status (spec 03 rule 3, HvCallVtlCall/HvCallVtlReturn). Checked before reserved bits and gates.
   */
  readonly exactControl?: boolean;
  /** Decodes the call's input and output for traces and `--json` (see `HypercallDecoder`). */
  readonly describe?: HypercallDecoder;
}

/** A simple hypercall: one operation, fixed output. */
export interface SimpleHypercallDescriptor extends HypercallDescriptorBase {
  readonly kind: 'simple';
  readonly outputBytes: number;
  handler(call: HypercallCall): HvStatusCode;
}

/** A rep hypercall: a list of input elements, one output element per rep. */
export interface RepHypercallDescriptor extends HypercallDescriptorBase {
  readonly kind: 'rep';
  readonly inputElementBytes: number;
  readonly outputElementBytes: number;
  handler(call: RepHypercallCall): RepOutcome;
}

/** A hypercall as data: its shape, what gates it, and one typed handler. */
export type HypercallDescriptor = SimpleHypercallDescriptor | RepHypercallDescriptor;
