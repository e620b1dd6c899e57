import { decodeHypercallResult, encodeHypercallControl, HvCallCode, HvStatus } from '@pvlab/hypercall';
import { enableTestHypercalls, INPUT_GPA } from '@pvlab/hypercall/testing';
import { tlbIpiHostState } from '@pvlab/tlb-ipi/host';
import { describe, expect, it } from 'vitest';
import { createVm, runGuest, type Vm } from '../src/index.ts';

/** HvCallFlushVirtualAddressListEx for VPs 2 and 65 (banks 0 and 1) with `ranges`, memory form. */
function flushListEx(vm: Vm, ranges: readonly bigint[]): number {
  const slots = [0x1000n, 0n, 0n, 0b11n, 1n << 2n, 1n << 1n, ...ranges];
  slots.forEach((v, i) => {
    vm.ram.writeU64(INPUT_GPA + BigInt(8 * i), v);
  });
  const control = encodeHypercallControl({
    callCode: HvCallCode.HvCallFlushVirtualAddressListEx,
    variableHeaderSize: 2,
    repCount: ranges.length,
  });
  return decodeHypercallResult(vm.vp(0).hypercall(control, INPUT_GPA, 0n)).status;
}

function fillAll(vm: Vm): void {
  for (let i = 0; i < vm.vcpus; i++) {
    vm.vp(i).tlb.fill(0x10_0000n, 0x5000n, { addressSpace: 0x1000n });
    vm.vp(i).tlb.fill(0x10_0000n, 0x6000n, { addressSpace: 0x9000n });
  }
}

describe('createVm installs tlb-ipi', () => {
  it('by default: the package, its CPUID bits and its six hypercalls', () => {
    const vm = createVm({ vcpus: 2, packages: { vtl: false, 'vmbus-ring': false } });
    expect(vm.partition.packages).toEqual(['hypercall', 'tlb-ipi']);
    const eax4 = vm.cpuid(0x4000_0004).eax;
    expect([2, 10, 11].map((bit) => (eax4 >>> bit) & 1)).toEqual([1, 1, 1]);
    expect((vm.cpuid(0x4000_0003).edx >>> 14) & 1).toBe(1);
    expect(
      vm.partition.dispatcher
        .descriptors()
        .map((d) => d.code)
        .filter((c) => c !== HvCallCode.HvCallNotifyLongSpinWait),
    ).toEqual([
      HvCallCode.HvCallFlushVirtualAddressSpace,
      HvCallCode.HvCallFlushVirtualAddressList,
      HvCallCode.HvCallSendSyntheticClusterIpi,
      HvCallCode.HvCallFlushVirtualAddressSpaceEx,
      HvCallCode.HvCallFlushVirtualAddressListEx,
      HvCallCode.HvCallSendSyntheticClusterIpiEx,
    ]);
    expect(tlbIpiHostState(vm.partition).flushMode).toBe('precise');
    vm.close();
  });

  it("packages: { 'tlb-ipi': false } drops it: no bits, and its calls are unknown codes", () => {
    const vm = createVm({ vcpus: 2, packages: { 'tlb-ipi': false } });
    expect(vm.partition.packages).toEqual(['hypercall', 'vtl', 'vmbus-ring']);
    expect((vm.cpuid(0x4000_0004).eax >>> 2) & 1).toBe(0);
    enableTestHypercalls(vm.vp(0));
    const r = vm
      .vp(0)
      .fastHypercall(
        encodeHypercallControl({ callCode: HvCallCode.HvCallSendSyntheticClusterIpi, fast: true }),
        [0x30n, 2n],
      );
    expect(decodeHypercallResult(r.result).status).toBe(HvStatus.INVALID_HYPERCALL_CODE);
    vm.close();
  });

  it('features: { ClusterIpiRecommended: false } closes the IPI calls (ACCESS_DENIED)', () => {
    const vm = createVm({ vcpus: 2, features: { ClusterIpiRecommended: false } });
    enableTestHypercalls(vm.vp(0));
    const r = vm
      .vp(0)
      .fastHypercall(
        encodeHypercallControl({ callCode: HvCallCode.HvCallSendSyntheticClusterIpi, fast: true }),
        [0x30n, 2n],
      );
    expect(decodeHypercallResult(r.result).status).toBe(HvStatus.ACCESS_DENIED);
    expect(vm.vp(1).takeInterrupts()).toEqual([]);
    vm.close();
  });
});

describe('flushes and IPIs through vm.vp(i), targets VP 2 and VP 65', () => {
  it('a List flush removes the page from VP 2 and VP 65 only; an IPI reaches only them', () => {
    const vm = createVm({ vcpus: 66 });
    enableTestHypercalls(vm.vp(0));
    fillAll(vm);
    expect(flushListEx(vm, [0x10_0000n])).toBe(HvStatus.SUCCESS);
    for (let i = 0; i < vm.vcpus; i++) {
      const flushed = i === 2 || i === 65;
      expect([i, vm.vp(i).tlb.lookup(0x10_0123n, 0x1000n)]).toEqual([i, flushed ? undefined : 0x5123n]);
      expect(vm.vp(i).tlb.lookup(0x10_0123n, 0x9000n)).toBe(0x6123n);
    }
    // HvCallSendSyntheticClusterIpiEx, XMM fast: RDX = vector, R8 = Format, XMM0.lo = mask, banks.
    const control = encodeHypercallControl({
      callCode: HvCallCode.HvCallSendSyntheticClusterIpiEx,
      fast: true,
      variableHeaderSize: 2,
    });
    const r = vm.vp(0).fastHypercall(control, [0xfen, 0n, 0b11n, 1n << 2n, 1n << 1n]);
    expect(r).toEqual({ result: 0n, output: [] });
    for (let i = 0; i < vm.vcpus; i++)
      expect([i, vm.vp(i).takeInterrupts()]).toEqual([i, i === 2 || i === 65 ? [0xfe] : []]);
    vm.close();
  });

  it("tlbFlush: 'kvm-fifo' over-flushes: the page goes in every address space, 16 ranges flush everything", () => {
    const vm = createVm({ vcpus: 66, tlbFlush: 'kvm-fifo' });
    enableTestHypercalls(vm.vp(0));
    fillAll(vm);
    expect(flushListEx(vm, [0x10_0000n])).toBe(HvStatus.SUCCESS);
    expect(vm.vp(2).tlb.size).toBe(0);
    expect(vm.vp(3).tlb.size).toBe(2);
    fillAll(vm);
    vm.vp(65).tlb.fill(0x7000_0000n, 0x1000n, { global: true });
    const ranges = Array.from({ length: 16 }, (_, i) => 0x2000_0000n + BigInt(i) * 0x1000n);
    expect(flushListEx(vm, ranges)).toBe(HvStatus.SUCCESS);
    expect([vm.vp(2).tlb.size, vm.vp(65).tlb.size, vm.vp(64).tlb.size]).toEqual([0, 0, 2]);
    expect(tlbIpiHostState(vm.partition).fifo(65).overflows).toBe(1);
    vm.close();
  });
});

describe('threaded runs', () => {
  it('a synthetic IPI wakes halted vCPUs; a flush from a vCPU thread reaches every TLB before it returns', async () => {
    const vm = createVm({ vcpus: 4 });
    fillAll(vm);
    const r = await runGuest(vm, { guest: new URL('./guests/synthetic-ipi.mjs', import.meta.url) });
    expect(r.failures).toEqual([]);
    expect(r.reports).toEqual([{ sent: 3 }, { woken: true }, { woken: true }, { woken: true }]);
    for (let i = 0; i < 4; i++) expect(vm.vp(i).tlb.size).toBe(0);
    vm.close();
  });
});
