import { type CpuidResult, GuestFault, type PendingInterrupts } from '@pvlab/hypercall';
import type { GuestCpu } from '@pvlab/hypercall/guest';
import type { HvVpState, SoftwareTlb } from '@pvlab/hypercall/host';
import { VTL_STATE, vtlHostState } from '@pvlab/vtl/host';
import type { ResolvedVmOptions } from './options.js';
import { type VmInternals, vmInternals } from './vm-internals.js';

type VmArch = ResolvedVmOptions['arch'];

/** One virtual processor, driven from the calling thread (the direct harness). */
export class VirtualProcessor implements GuestCpu {
  readonly index: number;
  readonly #arch: VmArch;
  readonly #internals: VmInternals;
  readonly #state: HvVpState;
  readonly #irr: PendingInterrupts;

  /** Made by the VM (`createVm`, `restoreVm`) for each of its VPs. */
  constructor(vm: { readonly options: { readonly arch: VmArch } }, state: HvVpState) {
    this.#arch = vm.options.arch;
    this.#internals = vmInternals(vm);
    this.#state = state;
    this.index = state.index;
    this.#irr = this.#internals.partitionOpen().interrupts;
  }

  /** The x86 instructions do not exist on an arm64 vCPU: #UD, as the threaded vCPUs do. */
  #x64(instruction: string): void {
    if (this.#arch !== 'x64') {
      throw new GuestFault(
        'UD',
        `${instruction} does not exist on arm64 (reach the hypervisor with smccc())`,
      );
    }
  }

  /** WRMSR; throws GuestFault{vector:'GP'} when refused. */
  writeMsr(msr: bigint, value: bigint): void {
    this.#x64('WRMSR');
    this.#internals.partitionOpen().writeMsr(this.index, msr, value);
  }

  /** RDMSR; throws GuestFault{vector:'GP'} when refused. */
  readMsr(msr: bigint): bigint {
    this.#x64('RDMSR');
    return this.#internals.partitionOpen().readMsr(this.index, msr);
  }

  /** CPUID as this VP sees it. */
  cpuid(leaf: number): CpuidResult {
    this.#x64('CPUID');
    return this.#internals.partitionOpen().cpuid(leaf);
  }

  /**
   * A memory-form hypercall (RCX = control, RDX = input GPA, R8 = output GPA). Returns the TLFS
   * result value; throws GuestFault{vector:'UD'} before hypercalls are enabled. With the Fast bit
   * set, RDX and R8 are the first 16 input bytes instead, and the XMM registers keep their values.
   */
  hypercall(control: bigint, inputGpa: bigint, outputGpa: bigint): bigint {
    this.#x64('VMCALL');
    const partition = this.#internals.partitionOpen();
    const regs = this.#state.registers;
    // The register file keeps values modulo 2^64, as the hardware registers do.
    regs.control = control;
    regs.rdx = inputGpa;
    regs.r8 = outputGpa;
    return partition.hypercall(this.index, regs);
  }

  /** `hypercall` with each register as u32 halves (lo = bits 31:0): what a wasm guest's import passes. */
  hypercallWords(cLo: number, cHi: number, rdxLo: number, rdxHi: number, r8Lo: number, r8Hi: number): bigint {
    this.#x64('VMCALL');
    const partition = this.#internals.partitionOpen();
    const regs = this.#state.registers;
    regs.setWords(cLo, cHi, rdxLo, rdxHi, r8Lo, r8Hi);
    return partition.hypercall(this.index, regs);
  }

  /**
   * A fast hypercall: `input` is RDX, R8, XMM0.lo, XMM0.hi, … (at most 14 values; slots not given
   * are zero). `output` holds the call's XMM output slots, empty when it has none or failed.
   */
  fastHypercall(control: bigint, input: readonly bigint[]): { result: bigint; output: bigint[] } {
    this.#x64('VMCALL');
    const partition = this.#internals.partitionOpen();
    const regs = this.#state.registers;
    if (input.length > regs.fastSlotCount) {
      throw new RangeError(
        `fastHypercall takes at most ${regs.fastSlotCount} input values (RDX, R8, XMM0..XMM5); got ${input.length}`,
      );
    }
    regs.control = control;
    regs.rdx = 0n;
    regs.r8 = 0n;
    regs.xmm.fill(0n);
    regs.loadSlots(input);
    const result = partition.hypercall(this.index, regs);
    const output: bigint[] = [];
    for (let i = 0; i < regs.fastOutputSlots; i++)
      output.push(regs.readFastSlot(regs.fastOutputFirstSlot + i));
    return { result, output };
  }

  /** This VP's software TLB: `fill(gva, gpa, { addressSpace?, global? })`, `lookup(gva, addressSpace?)`. */
  get tlb(): SoftwareTlb {
    this.#internals.partitionOpen();
    return this.#state.tlb;
  }

  /** INVLPG: drops the page holding `gva` from this VP's TLB, global entries included. */
  invlpg(gva: bigint): void {
    this.#internals.partitionOpen().invlpg(this.index, gva);
  }

  /** A local full flush: MOV to CR3 (non-global entries), or with `includeGlobal` a CR4.PGE toggle. */
  flushLocalTlb(includeGlobal = false): void {
    this.#internals.partitionOpen().flushLocalTlb(this.index, includeGlobal);
  }

  /** RDTSC: ns since the VM was made, as a 1 GHz TSC (`GUEST_TSC_HZ`). No exit, as on hardware. */
  rdtsc(): bigint {
    this.#x64('RDTSC');
    return this.#internals.tscNs();
  }

  /** `true` when a vector is pending on this VP, left pending (a cheap look before `takeInterrupts()`). */
  interruptPending(): boolean {
    // Asked after every exit of a wasm guest: the IRR itself, not through partitionOpen().
    return this.#irr.mayBePending(this.index);
  }

  /** Vectors delivered to this VP since the last call (IPIs, host injections), lowest first. */
  takeInterrupts(): number[] {
    return this.#internals.partitionOpen().interrupts.take(this.index);
  }

  /**
   * arm64: HVC through the SMCCC conduit (W0 = `functionId`, X1.. = `args`). Returns X0..X3 as
   * unsigned 64-bit values, so −1 (NOT_SUPPORTED) is 0xFFFF_FFFF_FFFF_FFFF. On x64, #UD.
   */
  smccc(functionId: number, ...args: bigint[]): bigint[] {
    return [...this.#internals.smcccCall(this.index, functionId, args)];
  }

  /**
   * arm64 VMM side (KVM_ARM_VCPU_PVTIME_IPA): places this vCPU's 64-byte stolen-time record at
   * `ipa`, once. Throws VmmError `EINVAL` (not 64-byte aligned, or not inside RAM), `EEXIST`
   * (already set), `ENXIO` (the VM has no PV time).
   */
  setStolenTimeIpa(ipa: bigint): void {
    this.#internals.pvTimeOf('setStolenTimeIpa').setStolenTimeIpa(this.index, ipa);
  }

  /** The record's IPA, or 0xFFFF_FFFF_FFFF_FFFF when unset (KVM's GET). */
  get stolenTimeIpa(): bigint {
    return this.#internals.pvTimeOf('stolenTimeIpa').stolenTimeIpa(this.index);
  }

  /**
   * arm64: this vCPU was runnable but not running for `ns` nanoseconds and runs again now: the
   * host accounts the wait and rewrites the record (one 64-bit store). Stolen time never decreases.
   */
  preempt(ns: bigint): void {
    const update = this.#internals.pvTimeOf('preempt').preempt(this.index, ns);
    if (update) this.#internals.recordSteal(update);
  }

  /**
   * The VTL this VP runs in (HvRegisterVsmVpStatus.ActiveVtl): changed by HvCallVtlCall and
   * HvCallVtlReturn. 0 on an arm64 VM or without the vtl package.
   */
  get activeVtl(): number {
    const vtl = this.#internals.partitionOpen().extensionState(VTL_STATE);
    return vtl === undefined ? 0 : vtl.activeVtl(this.index);
  }

  /**
   * The host's TLB-flush inhibit for this VP, like the proposed KVM_HYPERV_SET_TLB_FLUSH_INHIBIT
   * ioctl: while set, a flush hypercall that targets this VP suspends its caller. Clearing it
   * (when no TlbLocked bit holds the lock) resumes them; returns the VPs resumed.
   */
  setTlbFlushInhibit(inhibit: boolean): number[] {
    return vtlHostState(this.#internals.partitionOpen()).setTlbFlushInhibit(this.index, inhibit);
  }

  /**
   * The VP this one is suspended on (its flush hypercall threw `HypercallSuspended`), or `null`.
   * Once the lock is cleared it is `null` again and the guest re-issues the same hypercall.
   */
  get suspendedOn(): number | null {
    return this.#internals.partitionOpen().vp(this.index).suspendedOn;
  }

  /** HvCallNotifyLongSpinWait calls this VP made, and the last SpinCount it reported. */
  get longSpinWaits(): { count: number; lastSpinCount: number } {
    return { count: this.#state.longSpinWaits, lastSpinCount: this.#state.lastSpinCount };
  }
}
