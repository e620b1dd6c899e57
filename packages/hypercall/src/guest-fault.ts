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

/**
 * A guest fault as a value: what the host's layers return instead of a result (see
 * `HvPartition.dispatchHypercall`), and what reaches the guest. `GuestFault` is its exception form.
 */
export interface GuestFaultValue {
  readonly kind: 'fault';
  readonly vector: GuestFaultVector;
  /** What happened, without the `#UD: ` prefix of `GuestFault.message`. */
  readonly message: string;
  /** The error code the exception pushes where the architecture has one: x64 `#GP` (0, no selector). */
  readonly errorCode?: number;
  /** The faulting guest physical address, for `MEMORY` faults. */
  readonly gpa?: bigint;
}

/** The fault value of `vector`, `message` (no `#XX: ` prefix) and, for `MEMORY`, the GPA. */
export function guestFaultValue(vector: GuestFaultVector, message: string, gpa?: bigint): GuestFaultValue {
  return {
    kind: 'fault',
    vector,
    message,
    ...(vector === 'GP' ? { errorCode: 0 } : {}),
    ...(gpa === undefined ? {} : { gpa }),
  };
}

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

  /** The exception form of a fault value (what the throwing APIs raise). */
  static of(fault: GuestFaultValue): GuestFault {
    return new GuestFault(fault.vector, fault.message, fault.gpa, fault.errorCode);
  }

  /** This fault as a value (its message without the `#XX: ` prefix). */
  get fault(): GuestFaultValue {
    return faultValueOf(this);
  }
}

/**
 * The value of a fault from any copy of this module (`isGuestFault`): read from its fields, not
 * through a getter an older bundled copy may lack.
 */
export function faultValueOf(e: GuestFault): GuestFaultValue {
  const message = typeof e.detail === 'string' ? e.detail : e.message.slice(e.vector.length + 3);
  const errorCode = typeof e.errorCode === 'number' ? e.errorCode : undefined;
  return {
    kind: 'fault',
    vector: e.vector,
    message,
    ...(errorCode === undefined ? {} : { errorCode }),
    ...(e.gpa === undefined ? {} : { gpa: e.gpa }),
  };
}

/** `true` when `e` is a modelled guest fault (optionally of one vector). */
export function isGuestFault(e: unknown, vector?: GuestFaultVector): e is GuestFault {
  const branded =
    e instanceof GuestFault ||
    (e instanceof Error && (e as unknown as Record<symbol, unknown>)[GUEST_FAULT_BRAND] === true);
  return branded && (vector === undefined || (e as GuestFault).vector === vector);
}
