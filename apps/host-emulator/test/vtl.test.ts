import { decodeHypercallResult, encodeHypercallControl, HvCallCode, HvStatus } from '@pvlab/hypercall';
import { enableTestHypercalls, INPUT_GPA } from '@pvlab/hypercall/testing';
import { describe, expect, it } from 'vitest';
import { createVm, HypercallSuspended, restoreVm, type Vm } from '../src/index.ts';

const PARTITION_SELF = 0xffff_ffff_ffff_ffffn;
const VP_SELF = 0xffff_fffe;

function vm3(): Vm {
  const vm = createVm({ vcpus: 3 });
  enableTestHypercalls(vm.vp(0));
  return vm;
}

const status = (r: bigint) => decodeHypercallResult(r).status;
const call = (vm: Vm, vp: number, code: number) =>
  vm.vp(vp).hypercall(encodeHypercallControl({ callCode: code }), INPUT_GPA, 0n);

/** HvCallFlushVirtualAddressSpace of every address space on the VPs in `mask`, from `vp`. */
function flushSpace(vm: Vm, vp: number, mask: bigint): bigint {
  const v = vm.ram.view;
  v.setBigUint64(Number(INPUT_GPA), 0n, true); // AddressSpace
  v.setBigUint64(Number(INPUT_GPA) + 8, 0x2n, true); // HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES
  v.setBigUint64(Number(INPUT_GPA) + 16, mask, true); // ProcessorMask
  return call(vm, vp, HvCallCode.HvCallFlushVirtualAddressSpace);
}

/** Enables VTL1 for the partition and on `vp` (both from VTL0, as the highest VTL enabled). */
function enableVtl1(vm: Vm, vp: number): void {
  const v = vm.ram.view;
  vm.ram.fill(INPUT_GPA, 240, 0);
  v.setBigUint64(Number(INPUT_GPA), PARTITION_SELF, true);
  v.setUint8(Number(INPUT_GPA) + 8, 1);
  expect(status(call(vm, vp, HvCallCode.HvCallEnablePartitionVtl))).toBe(HvStatus.SUCCESS);
  vm.ram.fill(INPUT_GPA, 240, 0);
  v.setBigUint64(Number(INPUT_GPA), PARTITION_SELF, true);
  v.setUint32(Number(INPUT_GPA) + 8, VP_SELF, true);
  v.setUint8(Number(INPUT_GPA) + 12, 1);
  expect(status(call(vm, vp, HvCallCode.HvCallEnableVpVtl))).toBe(HvStatus.SUCCESS);
}

describe('createVm installs @pvlab/vtl', () => {
  it('vm.vp(i).activeVtl follows HvCallVtlCall / HvCallVtlReturn', () => {
    const vm = vm3();
    expect(vm.partition.packages).toEqual(['hypercall', 'tlb-ipi', 'vtl', 'vmbus-ring']);
    enableVtl1(vm, 1);
    expect(vm.vp(1).activeVtl).toBe(0);
    vm.vp(1).hypercall(BigInt(HvCallCode.HvCallVtlCall), 0n, 0n);
    expect([vm.vp(0).activeVtl, vm.vp(1).activeVtl]).toEqual([0, 1]);
    vm.vp(1).hypercall(BigInt(HvCallCode.HvCallVtlReturn), 0n, 0n);
    expect(vm.vp(1).activeVtl).toBe(0);
    vm.close();
  });

  it('a flush that targets a VP whose TLB is locked throws HypercallSuspended; the caller re-issues it once the lock is cleared', () => {
    const vm = vm3();
    vm.vp(2).tlb.fill(0x4000n, 0x8000n);
    vm.vp(2).setTlbFlushInhibit(true);
    let suspended: unknown;
    try {
      flushSpace(vm, 0, 0b100n);
    } catch (e) {
      suspended = e;
    }
    expect(suspended).toBeInstanceOf(HypercallSuspended);
    expect(suspended).toMatchObject({ vp: 0, waitingOn: 2 });
    expect(vm.vp(0).suspendedOn).toBe(2);
    // Nothing was flushed, and the parked VP cannot run another hypercall.
    expect(vm.vp(2).tlb.size).toBe(1);
    expect(() => flushSpace(vm, 0, 0b100n)).toThrow(/VP 0 is suspended waiting on VP 2/);
    // A flush that does not target the locked VP goes through.
    expect(status(flushSpace(vm, 1, 0b001n))).toBe(HvStatus.SUCCESS);
    expect(vm.vp(2).setTlbFlushInhibit(false)).toEqual([0]);
    expect(vm.vp(0).suspendedOn).toBeNull();
    expect(status(flushSpace(vm, 0, 0b100n))).toBe(HvStatus.SUCCESS);
    expect(vm.vp(2).tlb.size).toBe(0);
    // Clearing twice resumes nobody twice.
    expect(vm.vp(2).setTlbFlushInhibit(false)).toEqual([]);
    vm.close();
  });

  it('snapshots the VTL state and a parked VP; the restored VM resumes it when the lock clears', () => {
    const vm = vm3();
    enableVtl1(vm, 1);
    vm.vp(1).hypercall(BigInt(HvCallCode.HvCallVtlCall), 0n, 0n);
    vm.vp(2).setTlbFlushInhibit(true);
    expect(() => flushSpace(vm, 0, 0b100n)).toThrow(HypercallSuspended);
    const snapshot = JSON.parse(JSON.stringify(vm.save()));
    expect(Object.keys(snapshot.parts)).toEqual([
      'memory',
      'hypercall',
      'tlb-ipi',
      'vtl',
      'vmbus-ring',
      'vcpu/0',
      'vcpu/1',
      'vcpu/2',
    ]);
    const restored = restoreVm(snapshot);
    expect(restored.vp(1).activeVtl).toBe(1);
    expect(restored.vp(0).suspendedOn).toBe(2);
    expect(restored.save()).toEqual(vm.save());
    expect(restored.vp(2).setTlbFlushInhibit(false)).toEqual([0]);
    expect(status(flushSpace(restored, 0, 0b100n))).toBe(HvStatus.SUCCESS);
    restored.vp(1).hypercall(BigInt(HvCallCode.HvCallVtlReturn), 0n, 0n);
    expect(restored.vp(1).activeVtl).toBe(0);
  });

  it('refuses a vtl part from a VM with other VTLs, naming the field', () => {
    const vm = vm3();
    const snapshot = JSON.parse(JSON.stringify(vm.save()));
    snapshot.parts.vtl.data.maximumVtl = 5;
    expect(() => restoreVm(snapshot)).toThrow(/vtl.maximumVtl = 5: this VM implements VTLs 0..2/);
    snapshot.parts.vtl.data.maximumVtl = 2;
    snapshot.parts.vtl.data.vps['1'].activeVtl = 9;
    expect(() => restoreVm(snapshot)).toThrow(/vtl.vps\["1"\].activeVtl = 9: expected an integer 0..2/);
  });
});
