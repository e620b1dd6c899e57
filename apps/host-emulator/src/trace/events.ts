/**
 * What a run records. Times are microseconds from the start of the run: real time without a
 * seed, the virtual clock with one (so the same seed gives the same events, times included).
 */

/** One hypercall, from the vCPU's exit to the host's completion. */
export interface HypercallEvent {
  readonly kind: 'hypercall';
  readonly vp: number;
  readonly ts: number;
  readonly dur: number;
  /** Spec name, or `unknown call 0x1234`. */
  readonly name: string;
  readonly callCode: number;
  /** The control value, hex (`0x…`). */
  readonly control: string;
  readonly fast: boolean;
  readonly variableHeaderSize: number;
  readonly repCount: number;
  readonly repStartIndex: number;
  /** HV_STATUS name, or the fault (`#UD`) when the call faulted. */
  readonly status: string;
  readonly repsCompleted: number;
}

/** RDMSR / WRMSR / CPUID exits. */
export interface MsrEvent {
  readonly kind: 'rdmsr' | 'wrmsr' | 'cpuid';
  readonly vp: number;
  readonly ts: number;
  readonly dur: number;
  /** MSR number or CPUID leaf, hex. */
  readonly index: string;
  /** Value written or read (hex); CPUID: `eax:ebx:ecx:edx`. */
  readonly value: string;
  /** `#GP` etc. when the access faulted. */
  readonly fault?: string;
}

/** A vCPU halted until an interrupt (dur = time halted). */
export interface HaltEvent {
  readonly kind: 'halt';
  readonly vp: number;
  readonly ts: number;
  readonly dur: number;
  readonly vectors: readonly number[];
}

/** An interrupt made pending on `vp`. */
export interface InterruptEvent {
  readonly kind: 'interrupt';
  readonly vp: number;
  readonly ts: number;
  readonly vector: number;
}

/** A boot-log line, a report, or the end of a vCPU's program. */
export interface GuestEvent {
  readonly kind: 'log' | 'report' | 'done' | 'fail';
  readonly vp: number;
  readonly ts: number;
  readonly message: string;
}

export type RunEvent = HypercallEvent | MsrEvent | HaltEvent | InterruptEvent | GuestEvent;
