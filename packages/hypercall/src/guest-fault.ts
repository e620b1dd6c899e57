/**
 * The modelled guest faults. A `GuestFault` is what the guest would see instead of a result:
 * an exception injected into the vCPU, or a memory intercept the VMM must resolve.
 */
export type GuestFaultVector =
  /** #UD: invalid opcode — e.g. a hypercall before the hypercall page is enabled. */
  | 'UD'
  /** #GP: general protection — e.g. an unknown or refused MSR access. */
  | 'GP'
  /** A memory intercept: the guest touched a GPA with no RAM behind it (spec 01 rule 7). */
  | 'MEMORY';

/** A fault injected into (or intercepted from) the guest; never a host bug. */
export class GuestFault extends Error {
  override readonly name = 'GuestFault';
  readonly vector: GuestFaultVector;
  /** The faulting guest physical address, for `MEMORY` faults. */
  readonly gpa: bigint | undefined;

  constructor(vector: GuestFaultVector, message: string, gpa?: bigint) {
    super(`#${vector}: ${message}`);
    this.vector = vector;
    this.gpa = gpa;
  }
}

/** `true` when `e` is a modelled guest fault (optionally of one vector). */
export function isGuestFault(e: unknown, vector?: GuestFaultVector): e is GuestFault {
  return e instanceof GuestFault && (vector === undefined || e.vector === vector);
}
