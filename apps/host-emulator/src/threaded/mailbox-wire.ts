/**
 * The vCPU mailbox's wire: the codes and the byte layout of the shared control buffer that vCPU
 * threads and the host read and write (`Mailboxes` in `mailbox.ts` is the only code that indexes
 * it). Both sides build their views from these constants, so they cannot drift apart.
 */
import type { GuestFaultVector } from '@pvlab/hypercall';

/** What a vCPU stopped for. */
export const ExitKind = {
  /** The worker loaded the guest and waits for its first run grant. */
  START: 1,
  HYPERCALL: 2,
  RDMSR: 3,
  WRMSR: 4,
  CPUID: 5,
  /** HLT: resume when an interrupt is pending. */
  HALT: 6,
  /** A boot-log line (message area, UTF-8). */
  LOG: 7,
  /** A named value the guest reports (message area, JSON `[key, value]`). */
  REPORT: 8,
  /** The guest program returned: this vCPU passed. */
  DONE: 9,
  /** The guest program failed (message area: the reason). */
  FAIL: 10,
  /** A scheduling point with no other effect (a PAUSE in a spin loop). */
  YIELD: 11,
  /** INVLPG of register 0. */
  INVLPG: 12,
  /** A local full TLB flush; register 0 = 1 to drop global entries too. */
  FLUSH_TLB: 13,
  /** arm64 HVC through the SMCCC conduit: register 0 = function id, 1.. = x1..; results x0..x3 in 0..3. */
  SMCCC: 14,
  /** RDTSC: register 0 = the VM's clock in TSC ticks (GUEST_TSC_HZ; virtual when seeded). */
  RDTSC: 15,
} as const;
export type ExitKindCode = (typeof ExitKind)[keyof typeof ExitKind];

/** Register 0 of a FAIL exit: why the vCPU failed. */
export const FailKind = {
  /** The guest program ran and failed: cpu.fail(), an unhandled GuestFault, a failed assertion. */
  PROGRAM: 0,
  /** The guest module could not be loaded (user input: missing export, syntax error…). */
  LOAD: 1,
  /** The guest program threw an exception of its own (a bug in the program, not a guest failure). */
  THROW: 2,
} as const;

/** How the host completed an exit. */
export const Completion = {
  OK: 0,
  /** The exit raised a guest fault: the message area holds it as a fault record. */
  FAULT: 1,
  /** The run is over (another vCPU failed, or the host stopped it): unwind. */
  TERMINATE: 2,
} as const;

/** Mailbox states. */
export const State = { RUNNING: 0, EXIT: 1, COMPLETE: 2 } as const;

// Global words at the start of the control buffer.
export const DOORBELL = 0;
export const HOST_SLEEPING = 1;
export const HEADER_BYTES = 64;

// One mailbox: 48 bytes of words and times, 16 u64 registers, the hypercall stamps, a message
// area. The state, the exit's time and registers 0–1 (RCX/RAX and RDX) share the first 64-byte
// cache line, so a fast call with one input register moves one line between the threads each
// way. The hypercall stamps have a line of their own: the vCPU writes one while the host handles
// the exit, and the host reads it later, so neither waits for the other's line.
export const SLOT_BYTES = 4096;
export const WORDS_OFFSET = 0;
export const REGS_OFFSET = 48;
export const REGS = 16;
const LINE = 64;
/**
 * Four float64 times, then four u32 sequence numbers: hypercall exit `seq` uses pair `seq & 3`.
 * The host reads exit k's stamp after completing exit k + 1, by when the vCPU may have posted and
 * stamped k + 2 — but not k + 3, which needs the host to complete k + 2 first. So four pairs
 * never let the vCPU overwrite a stamp the host has yet to read.
 */
export const STAMPS_OFFSET = Math.ceil((REGS_OFFSET + REGS * 8) / LINE) * LINE;
export const STAMP_SLOTS = 4;
export const MSG_OFFSET = STAMPS_OFFSET + LINE;
/** Bytes a single message (log line, report, failure reason) may carry. */
export const MESSAGE_BYTES = SLOT_BYTES - MSG_OFFSET;

// Words of a mailbox.
export const W_STATE = 0;
export const W_KIND = 1;
export const W_SLEEPING = 2;
/** Bytes of text in the message area (after the fault header when the completion is FAULT). */
export const W_MSG_LEN = 3;
export const W_COMPLETION = 4;
/** Output slots of a fast hypercall, or 0. */
export const W_OUT_SLOTS = 5;
/** First output slot of a fast hypercall. */
export const W_OUT_FIRST = 6;
/** Words 8–9: a float64, when the vCPU last resumed after an exit (ms since the run started). */
export const W_RESUMED_AT = 8;
/** Words 10–11: a float64, when the vCPU posted its current exit (ms since the run started). */
export const W_EXIT_AT = 10;

/** Mailbox registers 1..14 hold the 14 fast-call slots (RDX, R8, XMM0.lo … XMM5.hi). */
export const FAST_SLOT_REGS = 14;

/**
 * A fault record, at the start of the message area when an exit completes with `FAULT`: the
 * `GuestFault` the host raised, field by field, so that the vCPU rebuilds the same fault.
 */
export const FaultRecord = {
  /** u32: the vector, as `FAULT_VECTOR_CODE` numbers it. */
  VECTOR: 0,
  /** u32: bit 0 set when the fault has an error code, bit 1 when it has a GPA. */
  FLAGS: 4,
  /** u32: the error code the exception pushes (#GP). */
  ERROR_CODE: 8,
  /** u64: the faulting GPA (memory intercepts). */
  GPA: 16,
  /** The message as the host gave it (no `#XX: ` prefix), `W_MSG_LEN` bytes of UTF-8. */
  TEXT: 24,
} as const;
export const FAULT_HAS_ERROR_CODE = 1;
export const FAULT_HAS_GPA = 2;

/** Every vector a fault record can carry, numbered (0 is none). */
export const FAULT_VECTOR_CODE = { UD: 1, GP: 2, MEMORY: 3 } as const satisfies Record<
  GuestFaultVector,
  number
>;

/** Bytes of control memory for `vcpus` mailboxes. */
export function mailboxBytes(vcpus: number): number {
  return HEADER_BYTES + vcpus * SLOT_BYTES;
}

/** The byte offset of `vp`'s mailbox in the control buffer. */
export function slotOffset(vp: number): number {
  return HEADER_BYTES + vp * SLOT_BYTES;
}
