import type { HypercallDetail } from '@pvlab/hypercall/host';

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
  /** What the call was (GPAs, decoded input/output, why its status): only when details were recorded. */
  readonly detail?: HypercallDetail;
}

/** An arm64 SMCCC call (HVC): function id, arguments and the x0..x3 it returned. */
export interface SmcccEvent {
  readonly kind: 'smccc';
  readonly vp: number;
  readonly ts: number;
  readonly dur: number;
  /** Function name, e.g. `PV_TIME_ST`, or `SMCCC 0x…` when unknown. */
  readonly name: string;
  readonly functionId: number;
  /** x1.. as hex. */
  readonly args: readonly string[];
  /** x0..x3 as hex (unsigned 64-bit). */
  readonly results: readonly string[];
  /** x0 as a return-code name (`SUCCESS`, `NOT_SUPPORTED`, …) or `value` when it is data. */
  readonly status: string;
}

/** The host rewrote a vCPU's stolen-time record before it ran again (arm64 PV time). */
export interface StealEvent {
  readonly kind: 'steal';
  readonly vp: number;
  readonly ts: number;
  /** The record's StolenTime after the update, ns (decimal). */
  readonly stolenNs: string;
}

/** Isolation VMs: a visibility change, or an access the host or the guest was refused. */
export interface IsolationTraceEvent {
  readonly kind: 'isolation';
  readonly vp: number;
  readonly ts: number;
  readonly what: 'visibility-changed' | 'host-access-refused' | 'guest-alias-fault';
  readonly message: string;
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

export type RunEvent =
  | HypercallEvent
  | SmcccEvent
  | MsrEvent
  | HaltEvent
  | InterruptEvent
  | StealEvent
  | IsolationTraceEvent
  | GuestEvent;
