import type { GuestMemory } from '../memory.js';
import type { GuestCpu } from './cpu.js';
import type { GuestBoundaryView } from './memory-sharing.js';

/**
 * The TSC frequency of pvlab's vCPUs: 1 GHz, so `rdtsc()` counts nanoseconds of the VM's clock
 * (the virtual clock in seeded runs).
 */
export const GUEST_TSC_HZ = 1_000_000_000;

/**
 * What a guest program's function gets on each vCPU when `pvlab-host run` (or `runGuest`) runs it
 * on vCPU threads: the `createVm` VP contract for its own vCPU
 * (`hypercall`, `fastHypercall`, `readMsr`, `writeMsr`, `cpuid`), guest memory, `halt()`, and a
 * way to report.
 */
export interface GuestProgramCpu extends GuestCpu {
  /** This vCPU's number (its VP index and x2APIC id). */
  readonly index: number;
  /** How many vCPUs the VM has. */
  readonly vcpus: number;
  /**
   * The VM's architecture. On `x64` the x86 exits work (`hypercall`, MSRs, CPUID, x2APIC IPIs)
   * and `smccc` raises #UD; on `arm64` only `smccc` reaches the hypervisor and the x86 ones raise #UD.
   */
  readonly arch: 'x64' | 'arm64';
  /**
   * arm64 HVC through the SMCCC conduit: W0 = `functionId`, X1.. = `args`; returns X0..X3 as
   * unsigned 64-bit values (so −1 is 0xFFFF_FFFF_FFFF_FFFF).
   */
  smccc(functionId: number, ...args: bigint[]): bigint[];
  /** Options given on the command line (`--guest-arg key=value`, repeatable), the same on every vCPU. */
  readonly args: Readonly<Record<string, string>>;
  /**
   * `true` when the VM was restored from a snapshot (`pvlab-host run --restore`): guest memory
   * holds what the guest left there when it was saved, so resume instead of re-initialising.
   */
  readonly restored: boolean;
  /**
   * Isolation VMs (`createVm({ isolation })`): the shared GPA boundary and the guest's view with
   * it — private pages below the boundary, host-visible pages only through `gpa | boundary`; the
   * wrong alias is a `GuestFault` (MEMORY). `undefined` in an ordinary VM. `memory` above stays
   * the RAM itself, which is how the guest reaches its own private data. A guest hands both to
   * `guestMemorySharing` (`@pvlab/isolation/guest`) for drivers that share memory with the host.
   */
  readonly isolation?: { readonly boundary: bigint; readonly memory: GuestBoundaryView } | undefined;
  /** Guest RAM, shared by every vCPU (GPA = offset). */
  readonly memory: GuestMemory;
  /**
   * HLT: blocks until an interrupt is pending and returns the vectors delivered (lowest first).
   * Send one with `sendIpi` (an x2APIC ICR write) or from the host.
   */
  halt(): number[];
  /** Vectors that arrived while running, acknowledged now (empty when none). */
  takeInterrupts(): number[];
  /** `true` when a vector is pending, left pending: a cheap look before `takeInterrupts()`. */
  interruptPending(): boolean;
  /** A native fixed IPI: WRMSR x2APIC ICR (0x830) with `vector` to `targetVp`. */
  sendIpi(targetVp: number, vector: number): void;
  /** INVLPG: drops the page holding `gva` from this vCPU's TLB (global entries included). */
  invlpg(gva: bigint): void;
  /** A local full flush: MOV to CR3 (non-global entries), or with `includeGlobal` a CR4.PGE toggle. */
  flushLocalTlb(includeGlobal?: boolean): void;
  /** PAUSE: a scheduling point for spin loops (with a seed, a spinning vCPU must yield). */
  pause(): void;
  /**
   * RDTSC: the VM's clock as a TSC ticking at `GUEST_TSC_HZ` (1 GHz, so ticks are ns since the
   * run started); the virtual clock in seeded runs, so a seed gives the same readings.
   */
  rdtsc(): bigint;
  /** Prints a line in the boot log, prefixed with this vCPU. */
  log(message: string): void;
  /** Reports a named JSON value; the host collects them per vCPU. */
  report(key: string, value: unknown): void;
  /** Ends this vCPU's program as failed (the run exits 1 with `message`). */
  fail(message: string): never;
}

/** A guest program: a module whose default export runs on every vCPU. */
export type GuestProgram = (cpu: GuestProgramCpu) => void | Promise<void>;

/** Thrown by `cpu.fail()`; carries the guest's message. */
export class GuestProgramFailure extends Error {
  override readonly name = 'GuestProgramFailure';
}
