/**
 * Suspension of a hypercall's caller (spec 03 rules 9–11; the proposed KVM "vCPU suspended
 * state"): a handler that cannot complete yet — a TLB flush that must wait for a locked target —
 * parks its caller instead of returning a status. RIP is not advanced: after the VP is resumed
 * the guest re-executes the same hypercall.
 */

/** A suspension as a value: what `HvPartition.dispatchHypercall` returns instead of a result. */
export interface HypercallSuspension {
  readonly kind: 'suspended';
  /** The suspended (calling) VP. */
  readonly vp: number;
  /** The VP whose state must change before the caller can run again. */
  readonly waitingOn: number;
  /** Why, e.g. `TLB flush of VP 3 inhibited (its TLB is locked)`. */
  readonly reason: string;
}

/**
 * Thrown by `HvPartition.hypercall` when the handler suspended the caller. No output and no
 * result were written; the VP stays suspended until `partition.resumeWaiters(waitingOn)`.
 */
export class HypercallSuspended extends Error {
  override readonly name = 'HypercallSuspended';
  /** The suspended (calling) VP. */
  readonly vp: number;
  /** The VP whose state must change before the caller can run again. */
  readonly waitingOn: number;
  /** Why, e.g. `TLB flush of VP 3 inhibited (InterceptSuspend.TlbLocked)`. */
  readonly reason: string;

  constructor(vp: number, waitingOn: number, reason: string) {
    super(`VP ${vp} suspended waiting on VP ${waitingOn}: ${reason}`);
    this.vp = vp;
    this.waitingOn = waitingOn;
    this.reason = reason;
  }

  /** The exception form of a suspension value (what the throwing APIs raise). */
  static of(s: HypercallSuspension): HypercallSuspended {
    return new HypercallSuspended(s.vp, s.waitingOn, s.reason);
  }

  /** This suspension as a value. */
  get suspension(): HypercallSuspension {
    return { kind: 'suspended', vp: this.vp, waitingOn: this.waitingOn, reason: this.reason };
  }
}

/** `true` when `e` is a hypercall suspension (not a guest fault, not a host bug). */
export function isHypercallSuspended(e: unknown): e is HypercallSuspended {
  return e instanceof HypercallSuspended;
}

/** Why a VP is suspended: the VP it waits on and the handler's reason. */
export interface VpSuspension {
  readonly waitingOn: number;
  readonly reason: string;
}
