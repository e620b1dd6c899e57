import { HvCallCode, HvStatus } from '@pvlab/hypercall';
import { HypercallSuspended } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { inputVtl } from '../src/wire/input-vtl.ts';
import { HvRegisterName as R } from '../src/wire/registers.ts';
import { TestVm, type TestVmOptions } from './fixtures.ts';

/** HvCallFlushVirtualAddressSpace from `vp` to the VPs in `mask` (24-byte input). */
function flush(vm: TestVm, vp: number, mask: bigint) {
  const b = new Uint8Array(24);
  new DataView(b.buffer).setBigUint64(16, mask, true);
  return vm.call('memory', vp, { callCode: HvCallCode.HvCallFlushVirtualAddressSpace }, b);
}

function suspended(fn: () => unknown): HypercallSuspended {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HypercallSuspended);
    return e as HypercallSuspended;
  }
  throw new Error('expected the caller to be suspended');
}

/** VP 1 runs in VTL1 and locks VP 2's TLB through InterceptSuspend of VTL0 on VP 2. */
function lockedByVtl1(options: TestVmOptions = {}): TestVm {
  const vm = new TestVm(options);
  vm.enable(1, [0, 1, 2, 3]);
  vm.runIn(1, 1);
  const out = vm.set(1, [{ name: R.InterceptSuspend, value: 2n }], { vpIndex: 2, inputVtl: inputVtl(0) });
  expect(out.status).toBe(HvStatus.SUCCESS);
  return vm;
}

describe('TLB-flush inhibit (spec 03 rules 9–11)', () => {
  it('a flush targeting a locked VP suspends the caller; clearing TlbLocked resumes it once; the re-executed flush completes', () => {
    const vm = lockedByVtl1();
    vm.partition.vp(2).tlb.fill(0x10_0000n, 0x20_0000n);
    expect(vm.vtl.tlbLocked(2)).toBe(true);
    const e = suspended(() => flush(vm, 0, 0b100n));
    expect([e.vp, e.waitingOn]).toEqual([0, 2]);
    expect(vm.partition.vp(0).suspendedOn).toBe(2);
    // Nothing was flushed.
    expect(vm.partition.vp(2).tlb.lookup(0x10_0000n)).toBe(0x20_0000n);
    // The waiting VP is observable, and cannot issue another hypercall.
    expect(vm.partition.suspendedVps().map((s) => s.vp)).toEqual([0]);
    expect(() => flush(vm, 0, 0b100n)).toThrow(/VP 0 is suspended waiting on VP 2/);
    // VTL1 clears the lock: VP 0 is resumed exactly once.
    vm.set(1, [{ name: R.InterceptSuspend, value: 0n }], { vpIndex: 2, inputVtl: inputVtl(0) });
    expect(vm.resumed).toEqual([0]);
    expect(vm.events.filter((x) => x.kind === 'tlb-lock')).toEqual([
      { kind: 'tlb-lock', vp: 2, locked: true, resumed: [] },
      { kind: 'tlb-lock', vp: 2, locked: false, resumed: [0] },
    ]);
    expect(flush(vm, 0, 0b100n).status).toBe(HvStatus.SUCCESS);
    expect(vm.partition.vp(2).tlb.lookup(0x10_0000n)).toBeUndefined();
    expect(vm.resumed).toEqual([0]);
  });

  it('the host API (KVM_HYPERV_SET_TLB_FLUSH_INHIBIT-like) locks and unlocks; unlocking returns the resumed VPs', () => {
    const vm = new TestVm();
    vm.vtl.setTlbFlushInhibit(3, true);
    suspended(() => flush(vm, 0, 0b1000n));
    suspended(() => flush(vm, 1, 0b1000n));
    expect(vm.vtl.setTlbFlushInhibit(3, false)).toEqual([0, 1]);
    expect(vm.resumed).toEqual([0, 1]);
    // Clearing again resumes nobody: no double wake-up.
    expect(vm.vtl.setTlbFlushInhibit(3, false)).toEqual([]);
    expect(flush(vm, 0, 0b1000n).status).toBe(HvStatus.SUCCESS);
  });

  it('a VP stays suspended while another lock bit still holds the TLB (no premature wake-up)', () => {
    const vm = lockedByVtl1();
    vm.vtl.setTlbFlushInhibit(2, true);
    suspended(() => flush(vm, 3, 0b100n));
    vm.set(1, [{ name: R.InterceptSuspend, value: 0n }], { vpIndex: 2, inputVtl: inputVtl(0) });
    expect(vm.resumed).toEqual([]);
    expect(vm.vtl.setTlbFlushInhibit(2, false)).toEqual([3]);
  });

  it('VsmVpSecureConfigVtl0.TlbLocked (set by VTL1 in its own VTL) locks too', () => {
    const vm = new TestVm();
    vm.enable(1, [0, 1, 2, 3]);
    vm.runIn(2, 1);
    expect(vm.set(2, [{ name: R.VsmVpSecureConfigVtl0, value: 2n }]).status).toBe(HvStatus.SUCCESS);
    suspended(() => flush(vm, 0, 0b100n));
    vm.set(2, [{ name: R.VsmVpSecureConfigVtl0, value: 0n }]);
    expect(vm.resumed).toEqual([0]);
  });

  it('vtl installed before tlb-ipi: a locked TLB still suspends the flush (the lock is core state)', () => {
    const vm = new TestVm({ order: 'vtl-first' });
    vm.vtl.setTlbFlushInhibit(2, true);
    suspended(() => flush(vm, 0, 0b100n));
  });

  it('without tlb-ipi: locks are kept and reported, nothing to inhibit', () => {
    const vm = new TestVm({ order: 'vtl-only' });
    expect(vm.partition.packages).toEqual(['hypercall', 'vtl']);
    vm.vtl.setTlbFlushInhibit(2, true);
    expect(vm.vtl.tlbLocked(2)).toBe(true);
    expect(vm.partition.vp(2).tlbLocked).toBe(true);
  });

  it('host API errors name the value and what is accepted', () => {
    const vm = new TestVm();
    expect(() => vm.vtl.setTlbFlushInhibit(9, true)).toThrow(
      /VP index 9 is not in this partition: use 0\.\.3/,
    );
    expect(() => vm.vtl.setTlbFlushInhibit(1, 1 as unknown as boolean)).toThrow(
      /inhibit must be true or false/,
    );
    expect(() => vm.vtl.readRegister(0, 3, R.VpIndex)).toThrow(/VTL 3 is not in this partition: use 0\.\.2/);
    expect(() => vm.vtl.writeRegister(0, 0, R.VpIndex, 1n)).toThrow(
      /cannot write HvRegisterVpIndex of VTL 0: HV_STATUS_ACCESS_DENIED/,
    );
    expect(() => vm.vtl.readRegister(0, 0, 0x42)).toThrow(/HV_STATUS_UNKNOWN_REGISTER_NAME/);
  });

  it('rule 11: the host (parent) may set Suspended bits; isSuspended reports them for the active VTL', () => {
    const vm = new TestVm();
    vm.vtl.writeRegister(1, 0, R.ExplicitSuspend, 1n);
    expect(vm.vtl.isSuspended(1)).toBe(true);
    expect(vm.set(1, [{ name: R.ExplicitSuspend, value: 0n }]).status).toBe(HvStatus.SUCCESS);
    expect(vm.vtl.isSuspended(1)).toBe(false);
    vm.vtl.writeRegister(1, 0, R.InterceptSuspend, 1n);
    expect(vm.vtl.isSuspended(1)).toBe(true);
  });

  it('vtlExtension options are checked where they are written', async () => {
    const { vtlExtension } = await import('../src/host/index.ts');
    expect(() => vtlExtension({ maximumVtl: 3 })).toThrow(/vtl maximumVtl 3: use 1 or 2/);
    expect(() => vtlExtension({ unknownRegister: 'NOPE' as 'INVALID_PARAMETER' })).toThrow(
      /vtl unknownRegister 'NOPE': use UNKNOWN_REGISTER_NAME or INVALID_PARAMETER/,
    );
  });

  it.each([['tlb-ipi-first'], ['vtl-first']] as const)(
    'install order %s: the same locks, suspensions, resumes and flushes',
    (order) => {
      const vm = new TestVm({ order });
      vm.partition.vp(2).tlb.fill(0x10_0000n, 0x20_0000n);
      expect(vm.partition.lockedTlbs).toBe(0);
      expect(flush(vm, 0, 0b1n).status).toBe(HvStatus.SUCCESS);
      vm.vtl.setTlbFlushInhibit(2, true);
      vm.vtl.setTlbFlushInhibit(3, true);
      expect(vm.partition.vps.map((v) => v.tlbLocked)).toEqual([false, false, true, true]);
      expect(vm.partition.lockedTlbs).toBe(2);
      const e = suspended(() => flush(vm, 0, 0b1110n));
      expect([e.vp, e.waitingOn]).toEqual([0, 2]);
      expect(suspended(() => flush(vm, 1, 0b1000n)).waitingOn).toBe(3);
      // The caller's own lock never suspends it.
      expect(flush(vm, 2, 0b100n).status).toBe(HvStatus.SUCCESS);
      expect(vm.vtl.setTlbFlushInhibit(2, false)).toEqual([0]);
      // VP 0 re-executes and now waits on VP 3.
      expect(suspended(() => flush(vm, 0, 0b1110n)).waitingOn).toBe(3);
      expect(vm.vtl.setTlbFlushInhibit(3, false)).toEqual([0, 1]);
      expect(vm.partition.lockedTlbs).toBe(0);
      expect(flush(vm, 0, 0b1110n).status).toBe(HvStatus.SUCCESS);
      expect(vm.partition.vp(2).tlb.lookup(0x10_0000n)).toBeUndefined();
      expect(vm.resumed).toEqual([0, 0, 1]);
      expect(vm.events.filter((x) => x.kind === 'tlb-lock').map((x) => [x.vp, x.locked])).toEqual([
        [2, true],
        [3, true],
        [2, false],
        [3, false],
      ]);
    },
  );
});
