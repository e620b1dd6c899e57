import {
  type CpuidResult,
  GuestFault,
  GuestMemory,
  type GuestPhysicalMemory,
  type HvFeatureName,
} from '@pvlab/hypercall';
import {
  CORE_FEATURES,
  type Diagnostic,
  type HostExtension,
  HvPartition,
  type HypercallDescriptor,
  memorySnapshotPart,
  partitionSnapshotPart,
  type SnapshotData,
  type SnapshotPart,
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
import { type CreateVmOptions, type ResolvedVmOptions, resolveVmOptions } from './options.js';
import { definedOnly, PACKAGE_EXTENSIONS } from './packages.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION, type VmSnapshot } from './snapshot.js';
import { restoreSnapshotParts } from './snapshot-parts.js';
import { VirtualProcessor } from './virtual-processor.js';
import { attachVmInternals } from './vm-internals.js';

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

/**
 * A VM driven from the calling thread: guest memory, CPUID, and VPs whose MSR accesses and
 * hypercalls run the host handlers synchronously. The harness for conformance tests.
 */
export class Vm {
  /**
   * Guest RAM as the guest sees it, by GPA (`read`, `write`). In an isolation VM
   * (`createVm({ isolation })`) it is the guest's view with the shared GPA boundary (an
   * `IsolatedGuestMemory`: private pages below the boundary, visible pages only through their
   * alias above it); in an ordinary VM it is `ram` itself. `createVm` types it as what it is.
   */
  readonly memory: GuestPhysicalMemory;
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
  /** When the VM was made: its vCPUs' TSC counts from here. */
  readonly #madeAt = performance.now();

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
    this.memory = isolated ? isolated.guestMemory : this.ram;
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
      smcccFunctions: () => this.#smcccFunctions(),
      accountsStolenTime: () => this.#pvTime !== undefined,
      restored: () => this.#restored,
      tscNs: () => BigInt(Math.round((performance.now() - this.#madeAt) * 1e6)),
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

  #smcccFunctions(): { id: string; name: string }[] {
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
export type IsolationVm = Vm & {
  readonly memory: IsolatedGuestMemory;
  readonly hostMemory: HostMemoryView;
};

/**
 * Creates a VM for the direct harness. Bad options throw a VmOptionError naming the option. The
 * VM's `memory` is typed as what it is: an isolation VM's is the guest's boundary view; an
 * ordinary VM's is its RAM, with the raw helpers (`readU64`, `view`, …); a VM from options that
 * may or may not have `isolation` has the placed-memory interface both share.
 */
export function createVm(
  options: CreateVmOptions & { isolation: NonNullable<CreateVmOptions['isolation']> },
): IsolationVm;
export function createVm(
  options?: CreateVmOptions & { isolation?: undefined },
): Vm & { readonly memory: GuestMemory };
export function createVm(options?: CreateVmOptions): Vm;
export function createVm(options: CreateVmOptions = {}): Vm {
  return new Vm(resolveVmOptions(options));
}
