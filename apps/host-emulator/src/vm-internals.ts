/**
 * What the app's own modules (the VPs, the threaded runner, restore and the CLI) need of a VM beyond
 * its public type. The package index does not export this file, so `Vm` shows users only its API.
 */
import type { HvPartition } from '@pvlab/hypercall/host';
import type { PvTimeHost, SmcccRegisters, StolenTimeUpdate } from '@pvlab/pv-time/host';
import type { VmSnapshot } from './snapshot.js';

export interface VmInternals {
  /** The partition, or an error once the VM is closed. */
  partitionOpen(): HvPartition;
  /** An SMCCC call from `vp`; #UD on x64. */
  smcccCall(vp: number, functionId: number, args: readonly bigint[]): SmcccRegisters;
  /** arm64: the SMCCC function ids the conduit answers (hex) with their names; empty on x64. */
  smcccFunctions(): { id: string; name: string }[];
  /** `true` when the host accounts stolen time (arm64 with PV time): the threaded runner then measures waits. */
  accountsStolenTime(): boolean;
  /** `true` when the VM was made by `restoreVm` (guest programs see it as `cpu.restored`). */
  restored(): boolean;
  /** The direct harness's TSC: ns since the VM was made (a 1 GHz TSC, `GUEST_TSC_HZ`). */
  tscNs(): bigint;
  /** The PV-time host, or the error KVM gives without it (ENXIO), naming `what`. */
  pvTimeOf(what: string): PvTimeHost;
  /** Adds `ns` of runnable-but-waiting time to `vp` (the threaded scheduler's measure). */
  accountSteal(vp: number, ns: bigint): void;
  /** Rule 7 before `vp` runs again; the update, when a record was rewritten. */
  beforeRun(vp: number): StolenTimeUpdate | undefined;
  /**
   * Calls `listener` with every stolen-time record the host rewrites (`preempt`, or a vCPU about
   * to run again); the threaded runner traces them.
   */
  onStolenTimeUpdate(listener: (update: StolenTimeUpdate) => void): void;
  /** Tells the stolen-time listeners about `update`. */
  recordSteal(update: StolenTimeUpdate): void;
  /** Restores every part of `snapshot` into this fresh VM (see `restoreVm`). */
  restoreParts(snapshot: VmSnapshot): void;
}

// Keyed by the VM object itself: an IsolationVm is the same object under a narrower type.
const byVm = new WeakMap<object, VmInternals>();

/** Called once by the `Vm` constructor. */
export function attachVmInternals(vm: object, internals: VmInternals): void {
  byVm.set(vm, internals);
}

/** The internals of a VM made by `createVm` or `restoreVm`. */
export function vmInternals(vm: object): VmInternals {
  const internals = byVm.get(vm);
  if (internals === undefined) throw new TypeError('not a VM made by createVm or restoreVm');
  return internals;
}
