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

/**
 * Marks every GuestFault, from whichever copy of this module made it: a guest image is a bundle
 * with its own copy, so a fault raised by the host's code (e.g. a memory view built in the vCPU
 * thread) is not an `instanceof` the guest's class. `Symbol.for` is shared by all of them.
 */
const GUEST_FAULT_BRAND = Symbol.for('@pvlab/hypercall.GuestFault');

/** A fault injected into (or intercepted from) the guest; never a host bug. */
export class GuestFault extends Error {
  override readonly name = 'GuestFault';
  readonly [GUEST_FAULT_BRAND] = true;
  readonly vector: GuestFaultVector;
  /** The faulting guest physical address, for `MEMORY` faults. */
  readonly gpa: bigint | undefined;
  /** What happened, as the raiser said it: `message` without its `#XX: ` prefix. */
  readonly detail: string;
  /**
   * The error code the exception pushes, where x86 has one: #GP does (0 for every modelled #GP: a
   * refused MSR access or instruction); #UD and memory intercepts have none.
   */
  readonly errorCode: number | undefined;

  constructor(vector: GuestFaultVector, message: string, gpa?: bigint, errorCode?: number) {
    super(`#${vector}: ${message}`);
    this.vector = vector;
    this.gpa = gpa;
    this.detail = message;
    this.errorCode = errorCode ?? (vector === 'GP' ? 0 : undefined);
  }
}

/** `true` when `e` is a modelled guest fault (optionally of one vector). */
export function isGuestFault(e: unknown, vector?: GuestFaultVector): e is GuestFault {
  const branded =
    e instanceof GuestFault ||
    (e instanceof Error && (e as unknown as Record<symbol, unknown>)[GUEST_FAULT_BRAND] === true);
  return branded && (vector === undefined || (e as GuestFault).vector === vector);
}
