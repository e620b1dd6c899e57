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
