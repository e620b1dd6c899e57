import { type CpuidResult, GuestFault, GuestMemory, type HvFeatureName } from '@pvlab/hypercall';
import type { GuestCpu } from '@pvlab/hypercall/guest';
import {
  CORE_FEATURES,
  type Diagnostic,
  type HostExtension,
  HvPartition,
  type HvVpState,
  type HypercallDescriptor,
  memorySnapshotPart,
  partitionSnapshotPart,
  type SnapshotData,
  type SnapshotPart,
  type SoftwareTlb,
  vcpuSnapshotPart,
} from '@pvlab/hypercall/host';
import {
  type HostMemoryView,
  type IsolatedGuestMemory,
  isolationExtension,
  isolationHostState,
} from '@pvlab/isolation/host';
import {
  installPvTime,
  PvTimeHost,
  pvTimeSnapshotPart,
  SmcccConduit,
  type SmcccRegisters,
  type StolenTimeUpdate,
  VmmError,
} from '@pvlab/pv-time/host';
import { VTL_STATE, vtlHostState } from '@pvlab/vtl/host';
import { type CreateVmOptions, type ResolvedVmOptions, resolveVmOptions } from './options.js';
import { definedOnly, PACKAGE_EXTENSIONS } from './packages.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION, type VmSnapshot } from './snapshot.js';
import { restoreSnapshotParts } from './snapshot-parts.js';
import { attachVmInternals, type VmInternals, vmInternals } from './vm-internals.js';

/** Raised by `vm.close()` in strict mode when the guest did something the spec forbids. */
export class ConformanceError extends Error {
  override readonly name = 'ConformanceError';
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const lines = diagnostics.map((d) => `  [${d.rule}] VP ${d.vp}: ${d.message}`);
    super(`strict mode: ${diagnostics.length} conformance diagnostic(s)\n${lines.join('\n')}`);
    this.diagnostics = diagnostics;
  }
}

/** One virtual processor, driven from the calling thread (the direct harness). */
export class VirtualProcessor implements GuestCpu {
  readonly index: number;
  readonly #vm: Vm;
  readonly #internals: VmInternals;
  readonly #state: HvVpState;

  constructor(vm: Vm, state: HvVpState) {
    this.#vm = vm;
    this.#internals = vmInternals(vm);
    this.#state = state;
    this.index = state.index;
  }

  /** The x86 instructions do not exist on an arm64 vCPU: #UD, as the threaded vCPUs do. */
  #x64(instruction: string): void {
    if (this.#vm.options.arch !== 'x64') {
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
    return this.#vm.cpuid(leaf);
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
    regs.control = BigInt.asUintN(64, control);
    regs.rdx = BigInt.asUintN(64, inputGpa);
    regs.r8 = BigInt.asUintN(64, outputGpa);
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
    regs.control = BigInt.asUintN(64, control);
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

/**
 * A VM driven from the calling thread: guest memory, CPUID, and VPs whose MSR accesses and
 * hypercalls run the host handlers synchronously. The harness for conformance tests.
 */
export class Vm {
  /**
   * Guest RAM as the guest sees it. In an isolation VM (`createVm({ isolation })`) it is the
   * guest's view with the shared GPA boundary (an `IsolatedGuestMemory`: private pages below the
   * boundary, visible pages only through their alias above it; `createVm` types it so).
   */
  readonly memory: GuestMemory;
  /** Guest RAM itself, GPA = offset, no isolation rules: for host internals and test setup. */
  readonly ram: GuestMemory;
  /** Isolation VMs: the host's accessor, which touches only host-visible pages through their alias. */
  readonly hostMemory: HostMemoryView | undefined;
  readonly options: Readonly<ResolvedVmOptions>;
  readonly #partition: HvPartition;
  readonly #vps: VirtualProcessor[];
  readonly #extensions: readonly HostExtension[];
  /** arm64: the SMCCC conduit and the PV-time host (absent when the package is dropped). */
  readonly #smccc: SmcccConduit | undefined;
  readonly #pvTime: PvTimeHost | undefined;
  #closed = false;
  #restored = false;

  constructor(options: ResolvedVmOptions) {
    this.options = options;
    this.ram = new GuestMemory(options.memoryBytes);
    const arm64 = options.arch === 'arm64';
    // The Hyper-V packages' hypercalls are x64 instructions: an arm64 VM has none of them.
    const extensions = Object.entries(arm64 ? {} : PACKAGE_EXTENSIONS)
      .filter(([name]) => options.packages[name] !== false)
      .map(([, makeExtension]) => makeExtension(options));
    // An isolation VM: vTOM at 1 << bits, the visibility hypercalls and CPUID leaf 0x4000000C.
    const isolation =
      options.isolation === undefined ? undefined : isolationExtension(definedOnly(options.isolation));
    if (isolation) extensions.push(isolation);
    const features = new Set<HvFeatureName>([...CORE_FEATURES, ...extensions.flatMap((e) => e.features)]);
    for (const [name, on] of Object.entries(options.features) as [HvFeatureName, boolean][]) {
      if (on) features.add(name);
      else features.delete(name);
    }
    this.#partition = new HvPartition({
      memory: this.ram,
      vcpus: options.vcpus,
      vendor: options.vendor,
      features,
      spinWaitRetryCount: options.spinWaitRetryCount,
      physicalAddressBits: options.physicalAddressBits,
      maxRepsPerCall: options.maxRepsPerCall,
      extensions,
      ...(isolation ? { extraCpuidLeaves: isolation.cpuidLeaves } : {}),
    });
    const isolated = isolation ? isolationHostState(this.#partition) : undefined;
    // The guest's view is not a GuestMemory (no raw `bytes`): createVm's overload types it.
    this.memory = isolated ? (isolated.guestMemory as unknown as GuestMemory) : this.ram;
    this.hostMemory = isolated?.hostMemory;
    this.#extensions = extensions;
    if (arm64) {
      this.#smccc = new SmcccConduit({ vcpus: options.vcpus });
      if (options.packages['pv-time'] !== false) {
        this.#pvTime = new PvTimeHost(this.ram, options.vcpus);
        installPvTime(this.#smccc, this.#pvTime);
      }
    }
    attachVmInternals(this, {
      partitionOpen: () => this.#partitionOpen(),
      smcccCall: (vp, functionId, args) => this.#smcccCall(vp, functionId, args),
      pvTimeOf: (what) => this.#pvTimeOf(what),
      accountSteal: (vp, ns) => this.#accountSteal(vp, ns),
      beforeRun: (vp) => this.#beforeRun(vp),
      onStolenTimeUpdate: (listener) => this.#onStolenTimeUpdate(listener),
      recordSteal: (update) => this.#recordSteal(update),
      restoreParts: (snapshot) => this.#restoreParts(snapshot),
    });
    this.#vps = this.#partition.vps.map((s) => new VirtualProcessor(this, s));
  }

  /** The host side of the partition: dispatcher, features, MSRs (for host-side tests). */
  get partition(): HvPartition {
    return this.#partitionOpen();
  }

  #partitionOpen(): HvPartition {
    if (this.#closed) throw new Error('this VM is closed');
    return this.#partition;
  }

  #smcccCall(vp: number, functionId: number, args: readonly bigint[]): SmcccRegisters {
    this.#partitionOpen();
    if (this.#smccc === undefined) throw new GuestFault('UD', 'HVC (SMCCC) does not exist on x64');
    return this.#smccc.call(vp, functionId, args);
  }

  /** arm64: the SMCCC function ids the conduit answers (hex) with their names; empty on x64. */
  smcccFunctions(): { id: string; name: string }[] {
    this.#partitionOpen();
    const conduit = this.#smccc;
    if (conduit === undefined) return [];
    return conduit
      .functionIds()
      .map((id) => ({ id: `0x${id.toString(16).padStart(8, '0')}`, name: conduit.nameOf(id) }));
  }

  #pvTimeOf(what: string): PvTimeHost {
    this.#partitionOpen();
    if (this.options.arch !== 'arm64') {
      throw new Error(`${what}: PV stolen time is an arm64 interface; create the VM with arch: 'arm64'`);
    }
    if (this.#pvTime === undefined)
      throw new VmmError('ENXIO', `${what}: this VM has no PV time (packages['pv-time'] is false)`);
    return this.#pvTime;
  }

  /** `true` when the host accounts stolen time (arm64 with PV time): the threaded runner then measures waits. */
  get accountsStolenTime(): boolean {
    return this.#pvTime !== undefined;
  }

  #accountSteal(vp: number, ns: bigint): void {
    this.#pvTime?.accountSteal(vp, ns);
  }

  #beforeRun(vp: number): StolenTimeUpdate | undefined {
    const update = this.#pvTime?.beforeRun(vp);
    if (update) this.#recordSteal(update);
    return update;
  }

  readonly #stealListeners: ((update: StolenTimeUpdate) => void)[] = [];

  #onStolenTimeUpdate(listener: (update: StolenTimeUpdate) => void): void {
    this.#stealListeners.push(listener);
  }

  #recordSteal(update: StolenTimeUpdate): void {
    for (const l of this.#stealListeners) l(update);
  }

  /** The number of VPs. */
  get vcpus(): number {
    return this.#vps.length;
  }

  /** VP `i`; a RangeError names the valid range. */
  vp(i: number): VirtualProcessor {
    const vp = this.#vps[i];
    if (vp === undefined || !Number.isInteger(i)) {
      throw new RangeError(`vp(${i}): this VM has VPs 0..${this.#vps.length - 1}`);
    }
    return vp;
  }

  /** CPUID for a hypervisor leaf (0x40000000…); unreported leaves read as zeros. */
  cpuid(leaf: number): CpuidResult {
    return this.#partitionOpen().cpuid(leaf);
  }

  /** Conformance diagnostics recorded so far. */
  diagnostics(): Diagnostic[] {
    return this.#partitionOpen().diagnostics();
  }

  /** Returns the diagnostics and clears them (so that strict `close()` will not report them). */
  takeDiagnostics(): Diagnostic[] {
    return this.#partitionOpen().diagnostics(true);
  }

  /** Adds a hypercall of your own (a host implementation under test) to this VM's dispatcher. */
  registerHypercall(
    descriptor: HypercallDescriptor | ((partition: HvPartition) => HypercallDescriptor),
  ): void {
    const p = this.#partitionOpen();
    p.dispatcher.register(typeof descriptor === 'function' ? descriptor(p) : descriptor);
  }

  /**
   * The VM's state as a versioned snapshot: its options, guest memory, the core's and every
   * installed package's host state, and every vCPU's state, each a named part with its own
   * format version. JSON-safe; `restoreVm` (or `pvlab-host run --restore`) brings it back.
   */
  save(): VmSnapshot {
    const parts: Record<string, { version: number; data: SnapshotData }> = {};
    for (const part of this.#snapshotParts()) parts[part.name] = { version: part.version, data: part.save() };
    return {
      format: SNAPSHOT_FORMAT,
      formatVersion: SNAPSHOT_FORMAT_VERSION,
      savedBy: '@pvlab/host-emulator',
      options: this.options,
      parts,
    };
  }

  /** `true` when this VM was made by `restoreVm` (guest programs see it as `cpu.restored`). */
  get restored(): boolean {
    return this.#restored;
  }

  #restoreParts(snapshot: VmSnapshot): void {
    restoreSnapshotParts(this.#snapshotParts(), snapshot);
    this.#restored = true;
  }

  #snapshotParts(): SnapshotPart[] {
    const p = this.#partitionOpen();
    return [
      memorySnapshotPart(this.ram),
      partitionSnapshotPart(p),
      ...this.#extensions.flatMap((e) => (e.snapshotPart ? [e.snapshotPart(p)] : [])),
      ...(this.#pvTime ? [pvTimeSnapshotPart(this.#pvTime)] : []),
      ...p.vps.map((s) => vcpuSnapshotPart(p, s.index)),
    ];
  }

  /**
   * Ends the VM. In strict mode (the default), throws a ConformanceError listing the diagnostics
   * not taken with `takeDiagnostics()`. Closing twice is a no-op.
   */
  close(): void {
    if (this.#closed) return;
    const pending = this.#partition.diagnostics(true);
    this.#closed = true;
    if (this.options.strict && pending.length > 0) throw new ConformanceError(pending);
  }
}

/** A VM with a shared GPA boundary: `memory` is the guest's view, `hostMemory` the host's. */
export type IsolationVm = Omit<Vm, 'memory' | 'hostMemory'> & {
  readonly memory: IsolatedGuestMemory;
  readonly hostMemory: HostMemoryView;
};

/** Creates a VM for the direct harness. Bad options throw a VmOptionError naming the option. */
export function createVm(
  options: CreateVmOptions & { isolation: NonNullable<CreateVmOptions['isolation']> },
): IsolationVm;
export function createVm(options?: CreateVmOptions): Vm;
export function createVm(options: CreateVmOptions = {}): Vm | IsolationVm {
  return new Vm(resolveVmOptions(options));
}
