/** The core's per-VP state and the shape of a synthetic MSR: what the partition and its own calls share. */
import type { HvFeatureName } from '../wire/cpuid.js';
import { X64HypercallRegisters } from './calling-convention.js';
import type { VpSuspension } from './suspend.js';
import { SoftwareTlb } from './tlb.js';

/** A synthetic MSR: how reads and writes behave. Throw `GuestFault('GP', …)` to refuse. */
export interface SyntheticMsr {
  readonly msr: bigint;
  readonly name: string;
  /** Feature bit without which any access is #GP (KVM's enforced-CPUID behaviour). */
  readonly gate?: HvFeatureName;
  read(vp: number): bigint;
  write(vp: number, value: bigint): void;
}

/** Per-VP host state of the core. */
export class HvVpState {
  readonly index: number;
  /** The x64 hypercall registers (RCX, RDX, R8, XMM0–5) of this VP. */
  readonly registers = new X64HypercallRegisters();
  /** The VP's software TLB (GVA → GPA translations). */
  readonly tlb = new SoftwareTlb();
  /** HvCallNotifyLongSpinWait calls seen from this VP, and the last SpinCount. */
  longSpinWaits = 0;
  lastSpinCount = 0;
  /**
   * RAX at the hypercall instruction. Only register-input calls read it (HvCallVtlCall and
   * HvCallVtlReturn take their VTL input in RAX, spec 03); the harness sets it, 0 by default.
   */
  rax = 0n;
  /** Set while a handler has this VP suspended (spec 03 rule 9); `null` while it runs. */
  suspension: VpSuspension | null = null;
  /**
   * `true` while this VP's TLB is locked (spec 03 rule 9): a flush that targets it suspends its
   * caller. Written through `HvPartition.setTlbLocked` (by `@pvlab/vtl`), read by the flushes.
   */
  readonly tlbLocked: boolean = false;

  constructor(index: number) {
    this.index = index;
  }

  /** The VP this VP is suspended on, or `null` when it is not suspended. */
  get suspendedOn(): number | null {
    return this.suspension?.waitingOn ?? null;
  }
}
