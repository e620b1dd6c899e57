import { isGuestFault } from '@pvlab/hypercall';
import { SmcccFunction } from '@pvlab/pv-time';
import { hasPvStealClock, initStealClock } from '@pvlab/pv-time/guest';
import { VmmError } from '@pvlab/pv-time/host';
import { describe, expect, it } from 'vitest';
import { createVm, restoreVm, type Vm } from '../src/index.ts';

const NOT_SUPPORTED = 0xffff_ffff_ffff_ffffn;
const RECORDS = 0xf0000n;

function arm64(vcpus = 2): Vm {
  return createVm({ arch: 'arm64', vcpus, memoryBytes: 1024 * 1024 });
}

/** A guest CPU over the direct harness: vp(i)'s SMCCC conduit plus guest memory. */
function guestCpu(vm: Vm, i: number) {
  return { smccc: (fid: number, ...args: bigint[]) => vm.vp(i).smccc(fid, ...args), memory: vm.ram };
}

function recordOf(vm: Vm, ipa: bigint) {
  return {
    revision: vm.ram.readU32(ipa),
    attributes: vm.ram.readU32(ipa + 4n),
    stolen: vm.ram.readU64(ipa + 8n),
  };
}

describe('createVm({ arch: "arm64" })', () => {
  it('answers SMCCC_VERSION 1.1, ARCH_FEATURES, and NOT_SUPPORTED (all ones) for unknown ids', () => {
    const vm = arm64();
    expect(vm.vp(0).smccc(SmcccFunction.SMCCC_VERSION)).toEqual([0x10001n, 0n, 0n, 0n]);
    expect(vm.vp(0).smccc(SmcccFunction.SMCCC_ARCH_FEATURES, BigInt(SmcccFunction.PV_TIME_FEATURES))[0]).toBe(
      0n,
    );
    expect(vm.vp(0).smccc(SmcccFunction.SMCCC_ARCH_FEATURES, 0x8400_0000n)[0]).toBe(NOT_SUPPORTED);
    expect(vm.vp(1).smccc(0xc600_1234)[0]).toBe(NOT_SUPPORTED);
    // The v4 draft's PV_TIME_ST id is not the final one.
    vm.vp(1).setStolenTimeIpa(RECORDS);
    expect(vm.vp(1).smccc(0xc500_0022)[0]).toBe(NOT_SUPPORTED);
    vm.close();
  });

  it('has no x86 instructions (#UD), and an x64 VM has no SMCCC conduit (#UD)', () => {
    const vm = arm64();
    for (const attempt of [
      () => vm.vp(0).hypercall(0n, 0n, 0n),
      () => vm.vp(0).fastHypercall(0n, []),
      () => vm.vp(0).readMsr(0x40000000n),
      () => vm.vp(0).writeMsr(0x40000000n, 0n),
      () => vm.vp(0).cpuid(0x40000000),
    ]) {
      expect(attempt).toThrow(/does not exist on arm64/);
      try {
        attempt();
      } catch (e) {
        expect(isGuestFault(e) && e.vector).toBe('UD');
      }
    }
    vm.close();
    const x64 = createVm();
    expect(() => x64.vp(0).smccc(SmcccFunction.SMCCC_VERSION)).toThrow(/HVC \(SMCCC\) does not exist on x64/);
    expect(() => x64.vp(0).setStolenTimeIpa(RECORDS)).toThrow(/PV stolen time is an arm64 interface/);
    x64.close();
  });

  it.each([
    [{ arch: 'riscv' }, /arch = 'riscv': accepted: 'x64', 'arm64'/],
    [{ arch: 'arm64', tlbFlush: 'kvm-fifo' }, /tlbFlush = 'kvm-fifo': is an x64 option/],
    [
      { arch: 'arm64', packages: { 'tlb-ipi': true } },
      /packages.tlb-ipi = true: is a package of x64 VMs, and arch is 'arm64'/,
    ],
    [
      { packages: { 'pv-time': true } },
      /packages.pv-time = true: is a package of arm64 VMs, and arch is 'x64'/,
    ],
  ])('refuses %j with one line', (options, message) => {
    expect(() => createVm(options as never)).toThrow(message);
  });
});

describe('the VMM side: vp.setStolenTimeIpa (KVM_ARM_VCPU_PVTIME_IPA)', () => {
  it.each([
    ['not 64-byte aligned', RECORDS + 8n],
    ['outside RAM', 1024n * 1024n],
    ['straddling the end of RAM', 1024n * 1024n - 32n],
  ])('EINVAL: %s', (_why, ipa) => {
    const vm = arm64();
    let error: unknown;
    try {
      vm.vp(0).setStolenTimeIpa(ipa);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VmmError);
    expect((error as VmmError).code).toBe('EINVAL');
    expect(vm.vp(0).stolenTimeIpa).toBe(NOT_SUPPORTED);
    vm.close();
  });

  it('EEXIST on a second set, even to the same IPA', () => {
    const vm = arm64();
    vm.vp(0).setStolenTimeIpa(RECORDS);
    for (const ipa of [RECORDS, RECORDS + 64n]) {
      expect(() => vm.vp(0).setStolenTimeIpa(ipa)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    }
    expect(vm.vp(0).stolenTimeIpa).toBe(RECORDS);
    vm.close();
  });

  it('ENXIO when the VM has no PV time', () => {
    const vm = createVm({ arch: 'arm64', packages: { 'pv-time': false } });
    expect(() => vm.vp(0).setStolenTimeIpa(RECORDS)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    expect(hasPvStealClock(guestCpu(vm, 0))).toMatchObject({
      available: false,
      failedStep: 'SMCCC_ARCH_FEATURES',
    });
    vm.close();
  });
});

describe('PV time as a guest sees it', () => {
  it('PV_TIME_FEATURES answers NOT_SUPPORTED until the vCPU has an IPA, then the probe succeeds', () => {
    const vm = arm64();
    const features = (i: number) =>
      vm.vp(i).smccc(SmcccFunction.PV_TIME_FEATURES, BigInt(SmcccFunction.PV_TIME_ST))[0];
    expect(features(0)).toBe(NOT_SUPPORTED);
    expect(hasPvStealClock(guestCpu(vm, 0))).toMatchObject({
      available: false,
      failedStep: 'PV_TIME_FEATURES',
    });
    vm.vp(0).setStolenTimeIpa(RECORDS);
    expect(features(0)).toBe(0n);
    expect(features(1)).toBe(NOT_SUPPORTED);
    expect(hasPvStealClock(guestCpu(vm, 0))).toMatchObject({ available: true });
    vm.close();
  });

  it('PV_TIME_ST gives the IPA of a zeroed revision-0 record; stolen time grows with preemption and never decreases', () => {
    const vm = arm64();
    vm.vp(1).setStolenTimeIpa(RECORDS + 64n);
    vm.ram.fill(RECORDS + 64n, 64, 0xaa);
    const init = initStealClock(guestCpu(vm, 1));
    expect(init.ok && init.clock.ipa).toBe(RECORDS + 64n);
    expect(recordOf(vm, RECORDS + 64n)).toEqual({ revision: 0, attributes: 0, stolen: 0n });
    expect([...vm.memory.read(RECORDS + 64n, 64)].every((b) => b === 0)).toBe(true);
    let last = 0n;
    for (const ns of [0n, 1500n, 1n, 250_000n]) {
      vm.vp(1).preempt(ns);
      const now = init.ok ? init.clock.read() : -1n;
      expect(now).toBe(last + ns);
      last = now;
    }
    expect(() => vm.vp(1).preempt(-1n)).toThrow(RangeError);
    expect(recordOf(vm, RECORDS + 64n).stolen).toBe(last);
    vm.close();
  });

  it('stolen time continues across save → restore: no reset, no jump backwards, same as an uninterrupted run', () => {
    const preemptions = [10n, 2000n, 30n, 4n, 50_000n, 6n, 700n];
    const run = (vm: Vm, from: number, to: number) => {
      for (let i = from; i < to; i++) vm.vp(i % 2).preempt(preemptions[i]!);
      return vm;
    };
    const setup = () => {
      const vm = arm64();
      vm.vp(0).setStolenTimeIpa(RECORDS);
      vm.vp(1).setStolenTimeIpa(RECORDS + 64n);
      for (const i of [0, 1]) expect(initStealClock(guestCpu(vm, i)).ok).toBe(true);
      return vm;
    };
    const whole = run(setup(), 0, preemptions.length);
    const first = run(setup(), 0, 3);
    const before = [recordOf(first, RECORDS).stolen, recordOf(first, RECORDS + 64n).stolen];
    const snapshot = JSON.parse(JSON.stringify(first.save())) as {
      parts: Record<string, { version: number }>;
    };
    expect(Object.keys(snapshot.parts)).toContain('pv-time');
    const resumed = restoreVm(snapshot);
    expect([recordOf(resumed, RECORDS).stolen, recordOf(resumed, RECORDS + 64n).stolen]).toEqual(before);
    expect(resumed.vp(0).stolenTimeIpa).toBe(RECORDS);
    expect(() => resumed.vp(0).setStolenTimeIpa(RECORDS)).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
    run(resumed, 3, preemptions.length);
    expect(recordOf(resumed, RECORDS)).toEqual(recordOf(whole, RECORDS));
    expect(recordOf(resumed, RECORDS + 64n)).toEqual(recordOf(whole, RECORDS + 64n));
    expect(resumed.save()).toEqual(whole.save());
  });

  it('a newer host restores an older snapshot: a pv-time part at version 1 (before `visible`) still resumes', () => {
    const vm = arm64();
    vm.vp(0).setStolenTimeIpa(RECORDS);
    expect(initStealClock(guestCpu(vm, 0)).ok).toBe(true);
    vm.vp(0).preempt(777n);
    const snapshot = JSON.parse(JSON.stringify(vm.save()));
    const v2 = snapshot.parts['pv-time'];
    expect(v2.version).toBe(2);
    const { visible: _visible, ...v1data } = v2.data;
    snapshot.parts['pv-time'] = { version: 1, data: v1data };
    const older = restoreVm(snapshot);
    expect(older.vp(0).stolenTimeIpa).toBe(RECORDS);
    older.vp(0).preempt(23n);
    expect(recordOf(older, RECORDS).stolen).toBe(800n);
    snapshot.parts['pv-time'] = { version: 3, data: v1data };
    expect(() => restoreVm(snapshot)).toThrow(
      /snapshot part 'pv-time' has format version 3; this host reads versions 1, 2/,
    );
  });
});
