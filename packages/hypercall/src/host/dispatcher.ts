import { faultValueOf, type GuestFaultValue, guestFaultValue, isGuestFault } from '../guest-fault.js';
import { hvCallName } from '../wire/call-code.js';
import { HV_HYPERCALL_REFUSED_WORDS } from '../wire/control.js';
import { encodeHypercallResult } from '../wire/result.js';
import { HvStatus, type HvStatusCode } from '../wire/status.js';
import { describeCall } from './call-describe.js';
import type { CallDiagnostic, HypercallDetail } from './call-detail.js';
import { CallEntry, CallPlan } from './call-plan.js';
import { buildHypercallRecord, type HypercallRecord, type HypercallRecordFacts } from './call-record.js';
import type { HypercallIo } from './calling-convention.js';
import { CurrentCall } from './current-call.js';
import type { HypercallDescriptor, RepOutcome } from './descriptor.js';
import { validateDescriptor } from './dispatch-rules.js';
import type { DispatcherEnvironment } from './dispatcher-environment.js';
import { FastRegisters } from './fast-registers.js';
import { HostInvariantError } from './invariant.js';
import { MemoryLists } from './memory-lists.js';
import type { DispatchOutcome } from './outcome.js';
import { Staging } from './staging.js';
import type { HypercallSuspension } from './suspend.js';

export { HostInvariantError } from './invariant.js';

const [RSVD_LO, RSVD_HI] = HV_HYPERCALL_REFUSED_WORDS;

const statusResult = (status: HvStatusCode): bigint => encodeHypercallResult(status, 0);
/** Every call code the TLFS defines is below this. */
const DIRECT_CODES = 0x200;
const NO_DIAGNOSTICS: readonly CallDiagnostic[] = [];

/**
 * Validates every generic rule of spec 01 (rules 1–6, 11–13) in one place, copies the input,
 * runs the descriptor's handler and writes back only what completed. Handlers see well-formed
 * input only. Guest-controlled input never throws here: `dispatch` returns what the call came to
 * (a result, a suspension or a guest fault); only a host bug is an exception.
 */
export class HypercallDispatcher {
  readonly #env: DispatcherEnvironment;
  readonly #table = new Map<number, CallEntry>();
  /** `callName` as a function value, for the records `recordOf` builds. */
  readonly #callName = (code: number): string => this.callName(code);
  /** The calls with codes below `DIRECT_CODES` by code: an array index per call, not a hash lookup. */
  readonly #direct = new Array<CallEntry | undefined>(DIRECT_CODES).fill(undefined);
  readonly #staging = new Staging();
  readonly #call: CurrentCall;
  readonly #lists: MemoryLists;
  readonly #fast: FastRegisters;
  #observer: ((record: HypercallRecord) => void) | undefined;
  /** Reps the call being dispatched completed (set by `#run`). */
  #reps = 0;
  /** Details (`recordDetails`): on or off, the last call's, and the diagnostics before the call. */
  #detailOn = false;
  #lastDetail: HypercallDetail | undefined;
  #diagnosticMark = 0;

  constructor(env: DispatcherEnvironment) {
    this.#env = env;
    this.#call = new CurrentCall(env, this.#staging);
    this.#lists = new MemoryLists(env, this.#staging, this.#call);
    this.#fast = new FastRegisters(env.features, this.#staging, this.#call);
  }

  /** Adds a hypercall. A second descriptor for the same code is a host bug. */
  register(descriptor: HypercallDescriptor): void {
    validateDescriptor(descriptor);
    const existing = this.#table.get(descriptor.code);
    if (existing) {
      throw new HostInvariantError(
        `call code 0x${descriptor.code.toString(16)} is already registered as ${existing.name}`,
      );
    }
    const entry = new CallEntry(descriptor);
    this.#table.set(descriptor.code, entry);
    if (descriptor.code < DIRECT_CODES) this.#direct[descriptor.code] = entry;
  }

  /** The descriptor of a call code, if registered. */
  descriptor(code: number): HypercallDescriptor | undefined {
    return this.#table.get(code)?.descriptor;
  }

  /** Every registered descriptor, by call code. */
  descriptors(): HypercallDescriptor[] {
    return [...this.#table.values()].map((e) => e.descriptor).sort((a, b) => a.code - b.code);
  }

  /** The registered call's name, or the spec's name of the code (`unknown call 0x1234`). */
  callName(code: number): string {
    return this.#table.get(code)?.name ?? hvCallName(code);
  }

  /**
   * Sees every call the dispatcher ran (after its outcome is known): completed, suspended or
   * faulted. One observer; `undefined` removes it. Records are built only while one observes.
   */
  observe(observer: ((record: HypercallRecord) => void) | undefined): void {
    this.#observer = observer;
  }

  /** `buildHypercallRecord` with the call named from this dispatcher's table. */
  recordOf(facts: Omit<HypercallRecordFacts, 'name'>): HypercallRecord {
    return buildHypercallRecord(facts, this.#callName);
  }

  /**
   * Records what each call was (`HypercallDetail`: GPAs, decoded input/output, why a status is
   * not SUCCESS, the diagnostics it raised) for observers and `takeDetail`. Off by default:
   * decoding costs more than the call.
   */
  recordDetails(on: boolean): void {
    this.#detailOn = on;
    this.#lastDetail = undefined;
    this.#call.clearReason();
  }

  get recordsDetails(): boolean {
    return this.#detailOn;
  }

  /** The detail of the last call dispatched (also one that suspended or faulted), once; then undefined. */
  takeDetail(): HypercallDetail | undefined {
    const d = this.#lastDetail;
    this.#lastDetail = undefined;
    return d;
  }

  /**
   * Runs one hypercall for VP `vp` and returns what it came to: the TLFS result value, the
   * suspension of the caller (a handler's `call.suspend`), or the guest fault it takes instead.
   */
  dispatch(vp: number, io: HypercallIo): DispatchOutcome {
    io.fastOutputFirstSlot = 0;
    io.fastOutputSlots = 0;
    if (this.#detailOn) this.#diagnosticMark = this.#env.diagnosticCount?.() ?? 0;
    // The word view spares a BigInt per field on the hot path; the control value itself is only
    // read (as a bigint) for the rare messages and observers below.
    const words = io.words;
    const lo = words ? words.controlLo() : Number(io.control & 0xffff_ffffn);
    const hi = words ? words.controlHi() : Number((io.control >> 32n) & 0xffff_ffffn);
    const code = lo & 0xffff;

    let status: HvStatusCode;
    let reps = 0;
    let plan: CallPlan | undefined;
    const desc = code < DIRECT_CODES ? this.#direct[code] : this.#table.get(code);
    // Spec 03 rule 3: calls such as VtlCall take no control fields at all; anything else is #UD.
    if ((lo >>> 16 !== 0 || hi !== 0) && desc !== undefined && desc.exactControl) {
      return this.#exactControlFault(vp, io, desc, code);
    }
    // Rule 1: reserved bits (KVM counts Nested as reserved; pvlab models no nested hypervisor).
    if ((lo & RSVD_LO) !== 0 || (hi & RSVD_HI) !== 0) {
      status = HvStatus.INVALID_HYPERCALL_INPUT;
    } else if (desc === undefined) {
      status = HvStatus.INVALID_HYPERCALL_CODE;
    } else if (desc.gate !== undefined && !desc.gate.isOpen(this.#env.features)) {
      status = HvStatus.ACCESS_DENIED;
    } else {
      plan = desc.plan;
      if (plan === undefined || plan.lo !== lo || plan.hi !== hi) {
        plan = new CallPlan(desc, lo, hi);
        desc.plan = plan;
      }
      let ran: HvStatusCode | GuestFaultValue;
      try {
        ran = this.#run(vp, io, desc, plan);
      } catch (e) {
        // The handler boundary: a suspension or a guest fault unwound the call; it ends as a value.
        return this.#interrupted(vp, io, lo, desc, plan, e);
      }
      if (typeof ran !== 'number') return this.#ended(vp, io, lo, desc, plan, ran, false);
      status = ran;
      reps = this.#reps;
    }
    const result = reps === 0 ? statusResult(status) : encodeHypercallResult(status, reps);
    if (this.#detailOn) {
      this.#lastDetail = this.#describe(io, lo, desc, plan, reps, status, undefined);
    }
    if (this.#observer) this.#observe(vp, io, desc, code, result);
    return result;
  }

  /** Runs a call that passed rule 1 and its gate; returns its status, reps completed in `#reps`. */
  #run(vp: number, io: HypercallIo, desc: CallEntry, plan: CallPlan): HvStatusCode | GuestFaultValue {
    this.#reps = 0;
    if (plan.ruleStatus >= 0) return plan.ruleStatus as HvStatusCode;
    const c = plan.fields;
    const outLen = plan.outLen;
    const refused = c.fast ? this.#fast.stage(io, desc, plan) : this.#lists.stage(vp, io, plan.inLen, outLen);
    if (refused !== undefined) return refused;
    if (outLen > 0) this.#staging.outBytes.fill(0, 0, outLen);

    const call = this.#call;
    call.vp = vp;
    call.desc = desc;
    let status: HvStatusCode;
    let writeFrom = 0;
    let writeTo = 0;
    if (desc.simpleHandler !== undefined) {
      status = desc.simpleHandler(call.simple(plan, vp));
      if (status === HvStatus.SUCCESS) writeTo = outLen;
    } else {
      const repEnd = Math.min(c.repCount, c.repStartIndex + this.#env.maxRepsPerCall);
      const outcome = desc.repHandler!(call.rep(plan, desc, vp, repEnd));
      checkRepOutcome(desc, plan, vp, repEnd, outcome);
      writeFrom = c.repStartIndex * desc.outputElementBytes;
      writeTo = outcome.repsCompleted * desc.outputElementBytes;
      status = outcome.status;
      this.#reps = outcome.repsCompleted;
    }
    if (c.fast) {
      if (writeTo > 0) {
        io.fastOutputFirstSlot = plan.firstOutputSlot;
        io.fastOutputSlots = writeTo / 8;
      }
      if (writeTo > writeFrom) this.#fast.writeOutput(io, plan.firstOutputSlot, writeFrom, writeTo);
    } else if (writeTo > writeFrom) {
      this.#lists.writeOutput(writeFrom, writeTo);
    }
    return status;
  }

  /** What unwound `#run`: a handler's suspension or a guest fault end the call; anything else is a host bug. */
  #interrupted(
    vp: number,
    io: HypercallIo,
    lo: number,
    desc: CallEntry,
    plan: CallPlan,
    e: unknown,
  ): DispatchOutcome {
    const call = this.#call;
    if (e === call.signal) {
      const suspension: HypercallSuspension = {
        kind: 'suspended',
        vp,
        waitingOn: call.waitingOn,
        reason: call.suspendReason,
      };
      call.waitingOn = -1;
      return this.#ended(vp, io, lo, desc, plan, suspension, true);
    }
    if (isGuestFault(e)) return this.#ended(vp, io, lo, desc, plan, faultValueOf(e), false);
    if (this.#detailOn) {
      const message = e instanceof Error ? e.message : String(e);
      this.#lastDetail = this.#describe(io, lo, desc, plan, 0, HvStatus.SUCCESS, {
        reason: message,
        staged: false,
      });
    }
    throw e;
  }

  /** A call that ended without a result: records and observes it, and returns it. */
  #ended(
    vp: number,
    io: HypercallIo,
    lo: number,
    desc: CallEntry,
    plan: CallPlan,
    end: HypercallSuspension | GuestFaultValue,
    staged: boolean,
  ): DispatchOutcome {
    if (this.#detailOn) {
      const reason = end.kind === 'suspended' ? `suspended: ${end.reason}` : `#${end.vector}: ${end.message}`;
      this.#lastDetail = this.#describe(io, lo, desc, plan, 0, HvStatus.SUCCESS, { reason, staged });
    }
    if (this.#observer) this.#observe(vp, io, desc, lo & 0xffff, end);
    return end;
  }

  /** Spec 03 rule 3's #UD: the call is refused before any rule, with only its reason as detail. */
  #exactControlFault(vp: number, io: HypercallIo, desc: CallEntry, code: number): GuestFaultValue {
    const fault = guestFaultValue(
      'UD',
      `${desc.name} with control 0x${io.control.toString(16)}: only the bare call code 0x${code.toString(16)} is accepted`,
    );
    if (this.#detailOn) this.#lastDetail = { reason: `#UD: ${fault.message}` };
    if (this.#observer) this.#observe(vp, io, desc, code, fault);
    return fault;
  }

  #describe(
    io: HypercallIo,
    lo: number,
    desc: CallEntry | undefined,
    plan: CallPlan | undefined,
    reps: number,
    status: HvStatusCode,
    ended: { reason: string; staged: boolean } | undefined,
  ): HypercallDetail {
    const call = this.#call;
    const detail = describeCall({
      io,
      lo,
      desc,
      plan,
      status,
      reps,
      reason: call.reason,
      ruleFailed: call.ruleFailed,
      ended,
      staging: this.#staging,
      diagnostics: this.#diagnosticsOfCall(),
    });
    call.clearReason();
    return detail;
  }

  /** The diagnostics recorded since the call began, without their VP (the caller's). */
  #diagnosticsOfCall(): readonly CallDiagnostic[] {
    const since = this.#env.diagnosticsSince?.(this.#diagnosticMark);
    if (since === undefined || since.length === 0) return NO_DIAGNOSTICS;
    return since.map((d) => ({ rule: d.rule, message: d.message }));
  }

  #observe(
    vp: number,
    io: HypercallIo,
    desc: CallEntry | undefined,
    code: number,
    end: bigint | HypercallSuspension | GuestFaultValue,
  ): void {
    const detail = this.#lastDetail;
    const name = desc?.name ?? hvCallName(code);
    const control = io.control;
    this.#observer?.(
      buildHypercallRecord(
        detail === undefined ? { vp, control, end, name } : { vp, control, end, name, detail },
      ),
    );
  }
}

/**
 * A rep handler's outcome must stay in `[RepStartIndex, repEnd]` and, on SUCCESS, complete at
 * least one rep: anything else is a host bug.
 */
function checkRepOutcome(
  desc: CallEntry,
  plan: CallPlan,
  vp: number,
  repEnd: number,
  outcome: RepOutcome,
): void {
  const c = plan.fields;
  if (
    !Number.isInteger(outcome.repsCompleted) ||
    outcome.repsCompleted < c.repStartIndex ||
    outcome.repsCompleted > repEnd ||
    (outcome.status === HvStatus.SUCCESS && outcome.repsCompleted === c.repStartIndex)
  ) {
    throw new HostInvariantError(
      `${desc.name} handler returned repsCompleted=${outcome.repsCompleted} status=0x${outcome.status.toString(16)} ` +
        `for reps [${c.repStartIndex}, ${repEnd}) of ${c.repCount} on VP ${vp}: it must complete at least one rep on success and stay in range`,
    );
  }
}
