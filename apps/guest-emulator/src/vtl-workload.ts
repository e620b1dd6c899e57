import { HvCallCode, HvStatus, hvStatusName } from '@pvlab/hypercall';
import type { GuestContext, GuestHypercalls, GuestProgramCpu } from '@pvlab/hypercall/guest';
import { FlushVirtualAddressSpaceInput } from '@pvlab/tlb-ipi';
import { HvInterceptSuspend, HvRegisterName, inputVtl } from '@pvlab/vtl';
import {
  enablePartitionVtl,
  enableVpVtl,
  type GetVtlLayout,
  getVtl,
  setVpRegisters,
  vtlCall,
  vtlReturn,
} from '@pvlab/vtl/guest';
import { VTL_FLAGS_GPA } from './layout.js';

/** Words at `VTL_FLAGS_GPA` the two CPUs of the scenario meet at. */
const Flag = {
  /** CPU 0 enabled VTL1 for the partition. */
  partitionVtl1: 0,
  /** CPU 1, in VTL1, locked its VTL0 TLB (InterceptSuspend.TlbLocked). */
  locked: 1,
  /** CPU 1 is about to clear the lock: a flush that completes must see this set. */
  unlocking: 2,
} as const;

/** The address space (CR3) the scenario's flush names: no other workload uses it. */
export const VTL_SCENARIO_ADDRESS_SPACE = 0x7e1_0000n;

/** Scheduling points CPU 1 spends in VTL1 with its TLB locked ("emulating an access"). */
const LOCKED_POINTS = 4;

/** What the VTL scenario did on one CPU. */
export interface VtlScenarioReport {
  readonly role: 'flusher' | 'vtl1' | 'none';
  /** VTL1 CPU: the VTL get_vtl read inside VTL1 and back in VTL0. */
  readonly vtls?: readonly number[];
  /** Flusher: the flush's status, and whether it was issued while the target's TLB was locked. */
  readonly flushStatus?: string;
  readonly issuedWhileLocked?: boolean;
}

const ok = (status: number) => status === HvStatus.SUCCESS || status === HvStatus.VTL_ALREADY_ENABLED;

/**
 * The VTL1 scenario (spec 03), on CPU 0 and CPU 1 of a VM with at least two: CPU 0 enables VTL1
 * for the partition; CPU 1 enables it on itself, enters VTL1 with HvCallVtlCall, locks its VTL0
 * TLB (InterceptSuspend.TlbLocked, written from VTL1), spends a few scheduling points there,
 * unlocks, and returns with HvCallVtlReturn — reading its VTL with get_vtl on each side. Meanwhile
 * CPU 0 flushes CPU 1's TLB once it saw the lock: the flush must wait (the caller is suspended)
 * until the lock is cleared, and completes then — never while the lock holds.
 */
export function runVtlScenario(
  cpu: GuestProgramCpu,
  ctx: GuestContext,
  hc: GuestHypercalls,
  vpIndexOf: (cpu: number) => number,
  layout: GetVtlLayout,
): VtlScenarioReport {
  if (cpu.vcpus < 2 || cpu.index > 1) return { role: 'none' };
  const flags = new Int32Array(cpu.memory.buffer, Number(VTL_FLAGS_GPA), 3);
  const waitFor = (flag: number) => {
    while (Atomics.load(flags, flag) === 0) cpu.pause();
  };
  if (cpu.index === 0) {
    const enabled = enablePartitionVtl(hc, 1);
    if (!ok(enabled)) cpu.fail(`vtl: HvCallEnablePartitionVtl(1) failed with ${hvStatusName(enabled)}`);
    Atomics.store(flags, Flag.partitionVtl1, 1);
    waitFor(Flag.locked);
    const issuedWhileLocked = Atomics.load(flags, Flag.unlocking) === 0;
    // One address space of its own, so the scenario leaves the other workloads' TLB entries be.
    const input = FlushVirtualAddressSpaceInput.encode({
      addressSpace: VTL_SCENARIO_ADDRESS_SPACE,
      processorMask: 1n << BigInt(vpIndexOf(1)),
    });
    hc.writeInput(input);
    const status = hc.call(BigInt(HvCallCode.HvCallFlushVirtualAddressSpace)).status;
    if (status !== HvStatus.SUCCESS) cpu.fail(`vtl: flush of CPU1's TLB failed with ${hvStatusName(status)}`);
    if (Atomics.load(flags, Flag.unlocking) === 0) {
      cpu.fail(
        "vtl: the flush of CPU1's TLB completed while CPU1's TLB was locked (TLB-flush inhibit not honoured)",
      );
    }
    cpu.log(
      issuedWhileLocked
        ? "vtl: CPU0's flush of CPU1 waited for CPU1's VTL1 TLB lock, then completed"
        : "vtl: CPU0's flush of CPU1 came after the lock was released",
    );
    return { role: 'flusher', flushStatus: hvStatusName(status), issuedWhileLocked };
  }
  waitFor(Flag.partitionVtl1);
  const enabled = enableVpVtl(hc, 1);
  if (!ok(enabled)) cpu.fail(`vtl: HvCallEnableVpVtl(1) failed with ${hvStatusName(enabled)}`);
  vtlCall(ctx);
  const inVtl1 = getVtl(ctx, hc, { layout });
  const lock = (on: boolean) => {
    const value = on ? HvInterceptSuspend.encode({ TlbLocked: 1 }) : 0n;
    const r = setVpRegisters(hc, [{ name: HvRegisterName.InterceptSuspend, value }], {
      inputVtl: inputVtl(0),
    });
    if (r.status !== HvStatus.SUCCESS) {
      cpu.fail(
        `vtl: SetVpRegisters(InterceptSuspend ${on ? 'TlbLocked' : '0'}) failed with ${hvStatusName(r.status)}`,
      );
    }
  };
  lock(true);
  Atomics.store(flags, Flag.locked, 1);
  for (let i = 0; i < LOCKED_POINTS; i++) cpu.pause();
  Atomics.store(flags, Flag.unlocking, 1);
  lock(false);
  vtlReturn(ctx);
  const back = getVtl(ctx, hc, { layout });
  cpu.log(
    `vtl: CPU1 VtlCall → VTL ${inVtl1}, TLB locked for ${LOCKED_POINTS} points, VtlReturn → VTL ${back}`,
  );
  if (inVtl1 !== 1 || back !== 0) cpu.fail(`vtl: get_vtl read ${inVtl1} in VTL1 and ${back} after VtlReturn`);
  return { role: 'vtl1', vtls: [inVtl1, back] };
}
