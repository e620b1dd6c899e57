import type { HvStatusCode } from '../wire/status.js';
import type { CallEntry, CallPlan, ReusableCall } from './call-plan.js';
import type { RepHypercallCall } from './descriptor.js';
import type { DispatcherEnvironment } from './dispatcher-environment.js';
import { HostInvariantError } from './invariant.js';
import type { Staging } from './staging.js';

/**
 * Unwinds a handler that called `call.suspend`. `HypercallDispatcher.dispatch` catches it right
 * at the handler boundary and returns the suspension as a value: it never leaves the dispatcher.
 * One instance, thrown again and again (no stack is captured per suspension).
 */
export class SuspendSignal extends Error {
  override readonly name = 'SuspendSignal';
}

/**
 * The call being dispatched, as its handler and the generic checks see it: the caller, why the
 * status is not SUCCESS, what it was suspended on, and the `call` objects handlers get. Handlers
 * run synchronously and never dispatch, so the `diagnose`/`suspend`/`fail` functions are made
 * once and read the call in progress from here: a call allocates no closures.
 */
export class CurrentCall {
  /** The caller and its descriptor (set before the handler runs). */
  vp = -1;
  desc: CallEntry | undefined = undefined;
  /** Why the status is not SUCCESS: a generic rule's or the handler's `fail` (details read it). */
  reason: string | undefined = undefined;
  /** A generic rule refused the call before its input was staged. */
  ruleFailed = false;
  /** What `suspend` was given, read once the signal is caught. */
  waitingOn = -1;
  suspendReason = '';
  readonly signal = new SuspendSignal('a hypercall handler suspended its caller');
  readonly #env: DispatcherEnvironment;
  readonly #staging: Staging;

  readonly fail = (status: HvStatusCode, reason: string): HvStatusCode => {
    this.reason = reason;
    return status;
  };
  readonly diagnose = (rule: string, message: string): void => {
    this.#env.diagnose(rule, this.vp, message);
  };
  readonly suspend = (waitingOn: number, reason: string): never => {
    if (!Number.isInteger(waitingOn) || waitingOn < 0) {
      throw new HostInvariantError(
        `${this.desc?.name} suspended VP ${this.vp} on VP ${waitingOn}, which is no VP index`,
      );
    }
    this.waitingOn = waitingOn;
    this.suspendReason = reason;
    throw this.signal;
  };

  constructor(env: DispatcherEnvironment, staging: Staging) {
    this.#env = env;
    this.#staging = staging;
  }

  /** Sets the reason of a status a generic rule chose; returns the status. */
  rule(status: HvStatusCode, reason: string): HvStatusCode {
    this.reason = reason;
    this.ruleFailed = true;
    return status;
  }

  /** Forgets the last call's reason (after its detail is recorded, or when details are switched). */
  clearReason(): void {
    this.reason = undefined;
    this.ruleFailed = false;
  }

  /** A simple call's object: made once per plan, only `vp` changes between calls. */
  simple(plan: CallPlan, vp: number): ReusableCall {
    let call = plan.simpleCall;
    if (call === undefined) {
      call = {
        vp,
        control: plan.fields,
        input: this.#staging.input(plan.inLen),
        variableHeaderBytes: plan.varBytes,
        output: this.#staging.output(plan.outLen),
        diagnose: this.diagnose,
        suspend: this.suspend,
        fail: this.fail,
      };
      plan.simpleCall = call;
    }
    call.vp = vp;
    return call;
  }

  /** A rep call's object for elements `[RepStartIndex, repEnd)`. */
  rep(plan: CallPlan, desc: CallEntry, vp: number, repEnd: number): RepHypercallCall {
    const header = desc.fixedInputBytes + plan.varBytes;
    const inEl = desc.inputElementBytes;
    const outEl = desc.outputElementBytes;
    // Spelled out, not spread from a simple call: a spread object is slow to read in the handler's loop.
    return {
      vp,
      control: plan.fields,
      input: this.#staging.input(plan.inLen),
      variableHeaderBytes: plan.varBytes,
      output: this.#staging.output(plan.outLen),
      diagnose: this.diagnose,
      suspend: this.suspend,
      fail: this.fail,
      repStart: plan.fields.repStartIndex,
      repEnd,
      inputElementOffset: (i) => header + i * inEl,
      outputElementOffset: (i) => i * outEl,
    };
  }
}
