import {
  faultValueOf,
  GuestFault,
  type GuestFaultValue,
  guestFaultValue,
  isGuestFault,
} from '../guest-fault.js';
import { PendingInterrupts } from '../interrupts.js';
import type { GuestMemory } from '../memory.js';
import type { CpuidResult, HvFeatureName } from '../wire/cpuid.js';
import type { CpuVendor } from '../wire/page.js';
import type { HypercallIo } from './calling-convention.js';
import { installCoreMsrs } from './core-msrs.js';
import { PartitionFeatures } from './cpuid.js';
import type { Diagnostic } from './diagnostic.js';
import { HypercallDispatcher } from './dispatcher.js';
import { notifyLongSpinWait } from './notify-long-spin-wait.js';
import { type DispatchOutcome, outcomeError } from './outcome.js';
import type { ExtensionKey } from './ports.js';
import type { SnapshotPart } from './snapshot.js';
import { HvVpState, type SyntheticMsr } from './vp-state.js';

/** A package's host side, installed into a partition: its hypercalls, MSRs and feature bits. */
export interface HostExtension {
  /** The package directory name, e.g. `tlb-ipi`. */
  readonly name: string;
  /** Feature bits the package exposes by default. */
  readonly features: readonly HvFeatureName[];
  install(partition: HvPartition): void;
  /** The package's host state as a versioned snapshot part (after `install`); none when stateless. */
  snapshotPart?(partition: HvPartition): SnapshotPart;
}

/** Feature bits the core exposes by default. */
export const CORE_FEATURES: readonly HvFeatureName[] = [
  'AccessHypercallMsrs',
  'AccessVpIndex',
  'XmmFastHypercallInput',
  'XmmFastHypercallOutput',
  'HypercallMsrLock',
  'SlatInUse',
];

/** Leaf 0x40000004 EBX default: notify after 4095 spins, as Hyper-V reports. */
export const DEFAULT_SPIN_WAIT_RETRY_COUNT = 0xfff;

/** Everything a partition is made of; `createVm` fills this from its options. */
export interface PartitionConfig {
  readonly memory: GuestMemory;
  readonly vcpus: number;
  readonly vendor: CpuVendor;
  /** The feature bits exposed in CPUID (the core's, the extensions', minus what the user dropped). */
  readonly features: Iterable<HvFeatureName>;
  readonly spinWaitRetryCount: number;
  readonly physicalAddressBits: number;
  readonly maxRepsPerCall: number;
  readonly extensions: readonly HostExtension[];
  readonly extraCpuidLeaves?: ReadonlyMap<number, CpuidResult>;
  /** Backing store of the VPs' pending interrupts; pass shared memory to let vCPU threads see it. */
  readonly interruptBuffer?: SharedArrayBuffer;
}

/**
 * The partition: guest memory, VPs, CPUID, synthetic MSRs and the hypercall dispatcher, with
 * every installed package's host side. Both the direct harness and the threaded host drive it.
 */
export class HvPartition {
  readonly memory: GuestMemory;
  readonly vendor: CpuVendor;
  readonly features: PartitionFeatures;
  readonly dispatcher: HypercallDispatcher;
  readonly vps: readonly HvVpState[];
  readonly physicalAddressBits: number;
  /** Partition-wide HV_X64_MSR_GUEST_OS_ID. */
  guestOsId = 0n;
  #hypercallMsr = 0n;
  /** Bit 0 of `hypercallMsr`, kept as a boolean: every hypercall checks it. */
  #hypercallsEnabled = false;
  /** Every VP's pending fixed interrupts (IRR). */
  readonly interrupts: PendingInterrupts;
  readonly #interruptListeners: ((vp: number, vector: number) => void)[] = [];
  readonly #resumeListeners: ((vp: number) => void)[] = [];
  readonly #msrs = new Map<bigint, SyntheticMsr>();
  readonly #extensionState = new Map<string, unknown>();
  #lockedTlbs = 0;
  readonly #diagnostics: Diagnostic[] = [];
  readonly #extensions: readonly HostExtension[];

  constructor(config: PartitionConfig) {
    this.memory = config.memory;
    this.vendor = config.vendor;
    this.physicalAddressBits = config.physicalAddressBits;
    this.features = new PartitionFeatures({
      exposed: config.features,
      spinWaitRetryCount: config.spinWaitRetryCount,
      vcpus: config.vcpus,
      ...(config.extraCpuidLeaves ? { extraLeaves: config.extraCpuidLeaves } : {}),
    });
    this.vps = Array.from({ length: config.vcpus }, (_, i) => new HvVpState(i));
    this.interrupts = new PendingInterrupts(config.vcpus, config.interruptBuffer);
    this.dispatcher = new HypercallDispatcher({
      memory: config.memory,
      features: this.features,
      physicalAddressBits: config.physicalAddressBits,
      maxRepsPerCall: config.maxRepsPerCall,
      diagnose: (rule, vp, message) => this.diagnose(rule, vp, message),
      diagnosticCount: () => this.#diagnostics.length,
      diagnosticsSince: (mark) => this.#diagnostics.slice(mark),
    });
    installCoreMsrs(this);
    this.dispatcher.register(notifyLongSpinWait(this));
    this.#extensions = config.extensions;
    for (const ext of config.extensions) ext.install(this);
  }

  /** Names of the installed packages (the core is `hypercall`). */
  get packages(): string[] {
    return ['hypercall', ...this.#extensions.map((e) => e.name)];
  }

  /** The VP's state, or a RangeError naming the valid range. */
  vp(index: number): HvVpState {
    const vp = this.vps[index];
    if (vp === undefined || !Number.isInteger(index)) {
      throw new RangeError(`VP index ${index} is not in this partition: use 0..${this.vps.length - 1}`);
    }
    return vp;
  }

  /** Records a conformance diagnostic. */
  diagnose(rule: string, vp: number, message: string): void {
    this.#diagnostics.push({ rule, vp, message });
  }

  /** The diagnostics recorded so far (oldest first); `clear` empties the list. */
  diagnostics(clear = false): Diagnostic[] {
    const list = [...this.#diagnostics];
    if (clear) this.#diagnostics.length = 0;
    return list;
  }

  /** Keeps host state under `key` (one per key); `extensionState(key)` returns it typed. */
  setExtensionState<T>(key: ExtensionKey<T>, state: T): void {
    if (this.#extensionState.has(key.name))
      throw new Error(`package ${key.name} already has host state in this partition`);
    this.#extensionState.set(key.name, state);
  }

  /** The host state kept under `key`, if any. */
  extensionState<T>(key: ExtensionKey<T>): T | undefined {
    // Only `setExtensionState` with a key of this name put it there, typed `T`.
    return this.#extensionState.get(key.name) as T | undefined;
  }

  /**
   * Locks or unlocks VP `vp`'s TLB (spec 03 rule 9; `@pvlab/vtl` works out the lock). Resuming
   * the VPs suspended on it stays with the writer (`resumeWaiters`). Returns the previous value.
   */
  setTlbLocked(vp: number, locked: boolean): boolean {
    const state = this.vp(vp) as { tlbLocked: boolean };
    const was = state.tlbLocked;
    if (was !== locked) {
      state.tlbLocked = locked;
      this.#lockedTlbs += locked ? 1 : -1;
    }
    return was;
  }

  /** How many VPs have a locked TLB: a flush checks its targets only when this is not 0. */
  get lockedTlbs(): number {
    return this.#lockedTlbs;
  }

  /** INVLPG on VP `vp`: drops the page holding `gva` from its TLB, global entries included. */
  invlpg(vp: number, gva: bigint): void {
    this.vp(vp).tlb.flushRange(gva, 1, 4096, 'all');
  }

  /**
   * A local full flush on VP `vp`: MOV to CR3 drops the non-global entries (`includeGlobal`
   * false); toggling CR4.PGE drops the global ones too.
   */
  flushLocalTlb(vp: number, includeGlobal: boolean): void {
    this.vp(vp).tlb.flushSpace('all', !includeGlobal);
  }

  /** Makes `vector` pending on VP `vp` and tells the listeners (which wake a halted vCPU). */
  deliverInterrupt(vp: number, vector: number): void {
    this.interrupts.raise(this.vp(vp).index, vector);
    for (const listener of this.#interruptListeners) listener(vp, vector);
  }

  /** Calls `listener` for every interrupt delivered (the threaded host wakes halted vCPUs here). */
  onInterrupt(listener: (vp: number, vector: number) => void): void {
    this.#interruptListeners.push(listener);
  }

  /** Adds a synthetic MSR. A second handler for the same MSR is a host bug. */
  registerMsr(msr: SyntheticMsr): void {
    if (this.#msrs.has(msr.msr)) throw new Error(`MSR 0x${msr.msr.toString(16)} is already registered`);
    this.#msrs.set(msr.msr, msr);
  }

  /** RDMSR from VP `vp`: #GP for an unknown or gated MSR. */
  readMsr(vp: number, msr: bigint): bigint {
    return this.#msr(msr, 'read').read(this.vp(vp).index);
  }

  /** WRMSR from VP `vp`: #GP for an unknown, gated or refused write. */
  writeMsr(vp: number, msr: bigint, value: bigint): void {
    this.#msr(msr, 'write').write(this.vp(vp).index, BigInt.asUintN(64, value));
  }

  /** `readMsr` as a value: the MSR's value, or the fault (#GP) the guest takes instead. */
  readMsrOutcome(vp: number, msr: bigint): bigint | GuestFaultValue {
    try {
      return this.readMsr(vp, msr);
    } catch (e) {
      if (isGuestFault(e)) return faultValueOf(e);
      throw e;
    }
  }

  /** `writeMsr` as a value: undefined once written, or the fault (#GP) the guest takes instead. */
  writeMsrOutcome(vp: number, msr: bigint, value: bigint): GuestFaultValue | undefined {
    try {
      this.writeMsr(vp, msr, value);
      return undefined;
    } catch (e) {
      if (isGuestFault(e)) return faultValueOf(e);
      throw e;
    }
  }

  /** CPUID for a hypervisor leaf. */
  cpuid(leaf: number): CpuidResult {
    return this.features.cpuid(leaf);
  }

  /** Partition-wide HV_X64_MSR_HYPERCALL. */
  get hypercallMsr(): bigint {
    return this.#hypercallMsr;
  }
  set hypercallMsr(value: bigint) {
    this.#hypercallMsr = BigInt.asUintN(64, value);
    this.#hypercallsEnabled = (value & 1n) === 1n;
  }

  /** `true` once the guest has enabled the hypercall page. */
  get hypercallsEnabled(): boolean {
    return this.#hypercallsEnabled;
  }

  /**
   * VMCALL/VMMCALL from VP `vp`, as a value: the TLFS result (advance RIP), the suspension of the
   * caller (it is recorded on the VP: `vp(i).suspension`; RIP stays, the call is re-executed once
   * `resumeWaiters` releases it), or the fault the guest takes instead — #UD until hypercalls are
   * enabled. Guest input never makes it throw; calling again while the VP is suspended is a host
   * usage error (an Error), and so is any host bug.
   */
  dispatchHypercall(vp: number, io: HypercallIo): DispatchOutcome {
    const state = this.vps[vp] ?? this.vp(vp);
    const parked = state.suspension;
    if (parked !== null) {
      throw new Error(
        `VP ${state.index} is suspended waiting on VP ${parked.waitingOn} (${parked.reason}): resume it with resumeWaiters(${parked.waitingOn}) before its next hypercall`,
      );
    }
    if (!this.#hypercallsEnabled) {
      return guestFaultValue('UD', `hypercall from VP ${state.index} before HV_X64_MSR_HYPERCALL is enabled`);
    }
    const outcome = this.dispatcher.dispatch(state.index, io);
    if (typeof outcome !== 'bigint' && outcome.kind === 'suspended') {
      state.suspension = { waitingOn: outcome.waitingOn, reason: outcome.reason };
    }
    return outcome;
  }

  /**
   * `dispatchHypercall` in the throwing form: returns the TLFS result, throws `GuestFault` for a
   * fault and `HypercallSuspended` for a suspension (recorded on the VP as there).
   */
  hypercall(vp: number, io: HypercallIo): bigint {
    const outcome = this.dispatchHypercall(vp, io);
    if (typeof outcome === 'bigint') return outcome;
    throw outcomeError(outcome);
  }

  /**
   * Releases every VP suspended on VP `target` (spec 03 rules 9–10), each exactly once, tells
   * the `onResume` listeners, and returns the released VP indexes (ascending). The released VPs
   * re-execute the hypercall they were suspended in (RIP was not advanced).
   */
  resumeWaiters(target: number): number[] {
    const t = this.vp(target).index;
    const released: number[] = [];
    for (const vp of this.vps) {
      if (vp.suspension !== null && vp.suspension.waitingOn === t) {
        vp.suspension = null;
        released.push(vp.index);
      }
    }
    for (const vp of released) for (const listener of this.#resumeListeners) listener(vp);
    return released;
  }

  /** The VPs currently suspended, with what they wait on. */
  suspendedVps(): { vp: number; waitingOn: number; reason: string }[] {
    const out: { vp: number; waitingOn: number; reason: string }[] = [];
    for (const vp of this.vps) {
      if (vp.suspension !== null) out.push({ vp: vp.index, ...vp.suspension });
    }
    return out;
  }

  /** Calls `listener` for every VP `resumeWaiters` releases (the threaded host re-runs its hypercall). */
  onResume(listener: (vp: number) => void): void {
    this.#resumeListeners.push(listener);
  }

  #msr(msr: bigint, access: 'read' | 'write'): SyntheticMsr {
    const m = this.#msrs.get(BigInt.asUintN(64, msr));
    if (m === undefined) throw new GuestFault('GP', `${access} of unknown MSR 0x${msr.toString(16)}`);
    if (m.gate !== undefined && !this.features.has(m.gate)) {
      throw new GuestFault('GP', `${access} of ${m.name} while ${m.gate} is not exposed`);
    }
    return m;
  }
}
