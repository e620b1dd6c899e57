import type { GuestPhysicalMemory } from '../memory.js';
import type { CpuidResult } from '../wire/cpuid.js';

/** The instructions a guest vCPU executes that reach the hypervisor (the `createVm` VP contract). */
export interface GuestCpu {
  /** CPUID. */
  cpuid(leaf: number): CpuidResult;
  /** RDMSR; a refused access throws `GuestFault` with vector `GP`. */
  readMsr(msr: bigint): bigint;
  /** WRMSR; a refused access throws `GuestFault` with vector `GP`. */
  writeMsr(msr: bigint, value: bigint): void;
  /** VMCALL with RCX = control, RDX = input GPA, R8 = output GPA; returns RAX. */
  hypercall(control: bigint, inputGpa: bigint, outputGpa: bigint): bigint;
  /**
   * The same VMCALL with RCX, RDX and R8 as 32-bit halves (lo = bits 31:0), each taken modulo
   * 2^32 (a signed i32 from wasm is fine), for callers that hold them so (a wasm guest's import):
   * no bigint is made on the way in. Optional: a cpu without it is reached through `hypercall`.
   */
  hypercallWords?(
    controlLo: number,
    controlHi: number,
    rdxLo: number,
    rdxHi: number,
    r8Lo: number,
    r8Hi: number,
  ): bigint;
  /**
   * A fast hypercall: `input` fills RDX, R8, XMM0.lo, XMM0.hi, … in that order; `output` is the
   * call's XMM output slots (empty when it has none or failed).
   */
  fastHypercall(control: bigint, input: readonly bigint[]): { result: bigint; output: bigint[] };
}

/** What guest code runs with: its own vCPU and guest physical memory. */
export interface GuestContext {
  readonly cpu: GuestCpu;
  readonly memory: GuestPhysicalMemory;
}
