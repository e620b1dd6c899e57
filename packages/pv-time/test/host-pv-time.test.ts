import { GuestMemory } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { installPvTime, PV_TIME_IPA_UNSET, PvTimeHost, SmcccConduit, VmmError } from '../src/host/index.ts';
import { SmcccFunction } from '../src/index.ts';
import { SMCCC_RET_NOT_SUPPORTED, SMCCC_RET_SUCCESS } from '../src/wire/return-codes.ts';
import { RAM_BYTES, RECORDS_BASE, recordIpa, TestVm, VCPUS } from './fixtures.ts';

const NS = SMCCC_RET_NOT_SUPPORTED;
const { PV_TIME_FEATURES, PV_TIME_ST } = SmcccFunction;

function vmmError(run: () => void): VmmError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(VmmError);
    return e as VmmError;
  }
  throw new Error('expected a VmmError');
}

describe('setStolenTimeIpa (KVM_SET_DEVICE_ATTR PVTIME_CTRL/PVTIME_IPA)', () => {
  it('sets a 64-byte aligned IPA inside RAM; GET returns it', () => {
    const vm = new TestVm();
    expect(vm.pvTime.stolenTimeIpa(2)).toBe(PV_TIME_IPA_UNSET);
    expect(PV_TIME_IPA_UNSET).toBe(0xffff_ffff_ffff_ffffn);
    vm.pvTime.setStolenTimeIpa(2, recordIpa(2));
    expect(vm.pvTime.stolenTimeIpa(2)).toBe(recordIpa(2));
    expect(vm.pvTime.stolenTimeIpa(1)).toBe(PV_TIME_IPA_UNSET);
  });

  it('the first and the last 64 bytes of RAM are accepted', () => {
    const vm = new TestVm();
    vm.pvTime.setStolenTimeIpa(0, 0n);
    vm.pvTime.setStolenTimeIpa(1, BigInt(RAM_BYTES - 64));
    expect(vm.pvTime.stolenTimeIpa(1)).toBe(BigInt(RAM_BYTES - 64));
  });

  it.each([
    ['not 64-byte aligned (0xF020)', 0xf020n, /not 64-byte aligned/],
    ['not 64-byte aligned (0xF001)', 0xf001n, /not 64-byte aligned/],
    [
      'straddling the end of RAM (size − 32: misaligned, and half outside)',
      BigInt(RAM_BYTES - 32),
      /aligned/,
    ],
    ['just past RAM (size)', BigInt(RAM_BYTES), /not inside RAM/],
    ['far outside RAM (1 TiB)', 1n << 40n, /not inside RAM/],
    ['all-ones (the unset value)', PV_TIME_IPA_UNSET, /aligned/],
  ])('EINVAL: %s', (_, ipa, message) => {
    const vm = new TestVm();
    const e = vmmError(() => vm.pvTime.setStolenTimeIpa(0, ipa));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(message);
    expect(e.message).toContain(`0x${ipa.toString(16)}`);
    expect(vm.pvTime.stolenTimeIpa(0)).toBe(PV_TIME_IPA_UNSET);
  });

  it('EEXIST: a second set, even to the same IPA; the first stays', () => {
    const vm = new TestVm();
    vm.pvTime.setStolenTimeIpa(0, recordIpa(0));
    expect(vmmError(() => vm.pvTime.setStolenTimeIpa(0, recordIpa(0))).code).toBe('EEXIST');
    expect(vmmError(() => vm.pvTime.setStolenTimeIpa(0, recordIpa(3))).code).toBe('EEXIST');
    expect(vm.pvTime.stolenTimeIpa(0)).toBe(recordIpa(0));
  });

  it("KVM's order: alignment before EEXIST, EEXIST before the RAM check", () => {
    const vm = new TestVm();
    vm.pvTime.setStolenTimeIpa(0, recordIpa(0));
    expect(vmmError(() => vm.pvTime.setStolenTimeIpa(0, 0xf001n)).code).toBe('EINVAL');
    expect(vmmError(() => vm.pvTime.setStolenTimeIpa(0, 1n << 40n)).code).toBe('EEXIST');
  });

  it('ENXIO when the host does not account run-queue delay (schedInfo off); HAS says so', () => {
    const vm = new TestVm({ pvTime: { schedInfo: false } });
    expect(vm.pvTime.hasStolenTimeAttr()).toBe(false);
    expect(new TestVm().pvTime.hasStolenTimeAttr()).toBe(true);
    expect(vmmError(() => vm.pvTime.setStolenTimeIpa(0, recordIpa(0))).code).toBe('ENXIO');
  });

  it('host-usage errors are RangeErrors: a bad vCPU, an IPA that is not a u64', () => {
    const vm = new TestVm();
    expect(() => vm.pvTime.setStolenTimeIpa(VCPUS, recordIpa(0))).toThrow(/vCPU 4 is not a vCPU/);
    expect(() => vm.pvTime.setStolenTimeIpa(0, -64n)).toThrow(RangeError);
    expect(() => vm.pvTime.setStolenTimeIpa(0, 1n << 64n)).toThrow(RangeError);
    expect(() => new PvTimeHost(vm.memory, 0)).toThrow(RangeError);
  });

  it('installPvTime refuses a conduit and a host of different sizes', () => {
    const memory = new GuestMemory(RAM_BYTES);
    expect(() => installPvTime(new SmcccConduit({ vcpus: 2 }), new PvTimeHost(memory, 3))).toThrow(
      RangeError,
    );
  });
});

describe('PV_TIME_FEATURES(X1) — rule 3', () => {
  it.each([
    ['PV_TIME_FEATURES, IPA set', PV_TIME_FEATURES, true, SMCCC_RET_SUCCESS],
    ['PV_TIME_ST, IPA set', PV_TIME_ST, true, SMCCC_RET_SUCCESS],
    [
      'PV_TIME_ST with X1 upper bits set (read as u32, like KVM)',
      0x1_0000_0000 + PV_TIME_ST,
      true,
      SMCCC_RET_SUCCESS,
    ],
    ['PV_TIME_FEATURES, IPA unset', PV_TIME_FEATURES, false, NS],
    ['PV_TIME_ST, IPA unset', PV_TIME_ST, false, NS],
    ['the draft PV_TIME_ST 0xC5000022', 0xc500_0022, true, NS],
    ['SMC32 PV_TIME_ST 0x85000021', 0x8500_0021, true, NS],
    ['SMCCC_VERSION', SmcccFunction.SMCCC_VERSION, true, NS],
    ['0', 0, true, NS],
  ])('%s', (_, x1, set, expected) => {
    const vm = new TestVm();
    if (set) vm.pvTime.setStolenTimeIpa(1, recordIpa(1));
    expect(vm.smccc(1, PV_TIME_FEATURES, BigInt(x1))).toEqual([expected, 0n, 0n, 0n]);
  });

  it("is per vCPU: another vCPU's IPA does not count", () => {
    const vm = new TestVm();
    vm.pvTime.setStolenTimeIpa(1, recordIpa(1));
    expect(vm.smccc(0, PV_TIME_FEATURES, BigInt(PV_TIME_ST))[0]).toBe(NS);
  });

  it('hidden service → NOT_SUPPORTED even with an IPA', () => {
    const vm = new TestVm({ pvTime: { hidden: true } }).withRecords();
    expect(vm.smccc(1, PV_TIME_FEATURES, BigInt(PV_TIME_ST))[0]).toBe(NS);
  });
});

describe('PV_TIME_ST — rule 4', () => {
  it('returns the IPA, zero-fills the 64-byte record, touches no other record', () => {
    const vm = new TestVm().withRecords();
    vm.memory.fill(RECORDS_BASE, 64 * VCPUS, 0xaa);
    const before = vm.records();
    expect(vm.smccc(2, PV_TIME_ST)).toEqual([recordIpa(2), 0n, 0n, 0n]);
    const after = vm.records();
    expect(after[2]).toEqual(new Array(64).fill(0));
    for (const i of [0, 1, 3]) expect(after[i]).toEqual(before[i]);
  });

  it('NOT_SUPPORTED (all-ones, as KVM returns INVALID_GPA) when the IPA is unset; memory untouched', () => {
    const vm = new TestVm();
    vm.memory.fill(RECORDS_BASE, 64, 0xaa);
    expect(vm.smccc(0, PV_TIME_ST)).toEqual([NS, 0n, 0n, 0n]);
    expect([...vm.memory.read(RECORDS_BASE, 64)]).toEqual(new Array(64).fill(0xaa));
  });

  it('hidden service → NOT_SUPPORTED and the record is left alone', () => {
    const vm = new TestVm({ pvTime: { hidden: true } }).withRecords();
    vm.memory.fill(recordIpa(0), 64, 0xaa);
    expect(vm.smccc(0, PV_TIME_ST)[0]).toBe(NS);
    expect(vm.memory.readU64(recordIpa(0))).toBe(0xaaaa_aaaa_aaaa_aaaan);
  });

  it('resets the baseline: steal accounted before the call is not published after it', () => {
    const vm = new TestVm().withRecords();
    vm.pvTime.accountSteal(0, 500n);
    vm.smccc(0, PV_TIME_ST);
    vm.pvTime.beforeRun(0);
    expect(vm.pvTime.recordedStolenTime(0)).toBe(0n);
    vm.pvTime.preempt(0, 70n);
    expect(vm.pvTime.recordedStolenTime(0)).toBe(70n);
  });

  it('a second PV_TIME_ST (CPU re-online) restarts StolenTime at 0, as KVM does', () => {
    const vm = new TestVm().withRecords();
    vm.smccc(0, PV_TIME_ST);
    vm.pvTime.preempt(0, 1000n);
    expect(vm.pvTime.recordedStolenTime(0)).toBe(1000n);
    vm.smccc(0, PV_TIME_ST);
    expect(vm.pvTime.recordedStolenTime(0)).toBe(0n);
    expect(vm.pvTime.vcpuState(0).runDelayNs).toBe(1000n); // the host's own accounting never goes back
  });
});

describe('stolen-time updates — rule 7', () => {
  it('grows by the preemption, on the preempted vCPU only', () => {
    const vm = new TestVm().withRecords();
    for (let i = 0; i < VCPUS; i++) vm.smccc(i, PV_TIME_ST);
    const before = vm.records();
    const update = vm.pvTime.preempt(2, 1_500_000n);
    expect(update).toEqual({ vcpu: 2, ipa: recordIpa(2), previous: 0n, stolenTime: 1_500_000n });
    const after = vm.records();
    for (const i of [0, 1, 3]) expect(after[i]).toEqual(before[i]);
    expect(after[2]!.slice(8, 16)).toEqual([0x60, 0xe3, 0x16, 0, 0, 0, 0, 0]); // 1_500_000 LE
    vm.pvTime.preempt(2, 500_000n);
    expect(vm.pvTime.recordedStolenTime(2)).toBe(2_000_000n);
  });

  it('accounted steal shows at the next beforeRun, not before', () => {
    const vm = new TestVm().withRecords();
    vm.smccc(0, PV_TIME_ST);
    vm.pvTime.accountSteal(0, 300n);
    vm.pvTime.accountSteal(0, 200n);
    expect(vm.pvTime.recordedStolenTime(0)).toBe(0n);
    expect(vm.pvTime.beforeRun(0)?.stolenTime).toBe(500n);
    expect(vm.pvTime.beforeRun(0)?.stolenTime).toBe(500n); // no new delay: no growth
  });

  it('reads StolenTime back from guest memory and adds the growth (KVM semantics), wrapping as a u64', () => {
    const vm = new TestVm().withRecords();
    vm.smccc(0, PV_TIME_ST);
    vm.memory.writeU64(recordIpa(0) + 8n, 10_000n); // whatever the record holds is the base
    vm.pvTime.preempt(0, 5n);
    expect(vm.pvTime.recordedStolenTime(0)).toBe(10_005n);
    vm.memory.writeU64(recordIpa(0) + 8n, 0xffff_ffff_ffff_fffen);
    expect(vm.pvTime.preempt(0, 3n)?.stolenTime).toBe(1n);
  });

  it('writes only bytes 8..15 (one 64-bit store)', () => {
    const vm = new TestVm().withRecords();
    vm.smccc(0, PV_TIME_ST);
    vm.memory.writeU32(recordIpa(0), 7);
    vm.memory.fill(recordIpa(0) + 16n, 48, 0xcc);
    vm.pvTime.preempt(0, 1n);
    const r = [...vm.memory.read(recordIpa(0), 64)];
    expect(r.slice(0, 4)).toEqual([7, 0, 0, 0]);
    expect(r.slice(16)).toEqual(new Array(48).fill(0xcc));
  });

  it('does nothing while the IPA is unset, and the baseline then starts where accounting stands', () => {
    const vm = new TestVm();
    vm.pvTime.accountSteal(0, 100n);
    expect(vm.pvTime.beforeRun(0)).toBeUndefined();
    expect(vm.pvTime.preempt(0, 50n)).toBeUndefined();
    expect(vm.pvTime.recordedStolenTime(0)).toBeUndefined();
    expect(vm.pvTime.vcpuState(0)).toEqual({ ipa: PV_TIME_IPA_UNSET, runDelayNs: 150n, lastStealNs: 0n });
  });

  it('before PV_TIME_ST the record already receives all accounted delay (KVM: last_steal starts at 0)', () => {
    const vm = new TestVm().withRecords();
    vm.pvTime.accountSteal(1, 40n);
    expect(vm.pvTime.beforeRun(1)?.stolenTime).toBe(40n);
  });

  it('keeps updating while the service is hidden (KVM updates whenever the IPA is set)', () => {
    const vm = new TestVm({ pvTime: { hidden: true } }).withRecords();
    expect(vm.pvTime.preempt(3, 9n)?.stolenTime).toBe(9n);
  });

  it('refuses negative and non-bigint steal (RangeError) and a bad vCPU; the delay stops at 2^64-1 ns', () => {
    const vm = new TestVm();
    expect(() => vm.pvTime.accountSteal(0, -1n)).toThrow(/not accepted: use a bigint ≥ 0/);
    expect(() => vm.pvTime.accountSteal(0, 1 as unknown as bigint)).toThrow(RangeError);
    vm.pvTime.accountSteal(0, (1n << 64n) - 2n);
    vm.pvTime.accountSteal(0, 5n);
    expect(vm.pvTime.vcpuState(0).runDelayNs).toBe((1n << 64n) - 1n);
    expect(() => vm.pvTime.beforeRun(VCPUS)).toThrow(RangeError);
    expect(() => vm.pvTime.preempt(0.5, 1n)).toThrow(RangeError);
  });
});
