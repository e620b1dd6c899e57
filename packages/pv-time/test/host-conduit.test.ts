import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { SmcccConduit } from '../src/host/index.ts';
import { PV_TIME_ST_DRAFT_V4, SmcccFunction } from '../src/index.ts';
import {
  SMCCC_RET_NOT_REQUIRED,
  SMCCC_RET_NOT_SUPPORTED,
  SMCCC_RET_SUCCESS,
} from '../src/wire/return-codes.ts';
import { TestVm, VCPUS } from './fixtures.ts';

const NS = SMCCC_RET_NOT_SUPPORTED;
const { SMCCC_VERSION, SMCCC_ARCH_FEATURES, PV_TIME_FEATURES, PV_TIME_ST } = SmcccFunction;

describe('SMCCC_VERSION', () => {
  it('reports 1.1 (0x10001) by default, X1..X3 = 0', () => {
    expect(new TestVm().smccc(0, SMCCC_VERSION)).toEqual([0x10001n, 0n, 0n, 0n]);
  });

  it('reports the configured version (1.2 = 0x10002)', () => {
    const vm = new TestVm({ conduit: { version: { major: 1, minor: 2 } } });
    expect(vm.smccc(0, SMCCC_VERSION)[0]).toBe(0x10002n);
  });

  it('a 1.0 conduit has neither SMCCC_VERSION nor ARCH_FEATURES: both NOT_SUPPORTED (guests read 1.0)', () => {
    const vm = new TestVm({ conduit: { version: { major: 1, minor: 0 } } });
    expect(vm.smccc(0, SMCCC_VERSION)).toEqual([NS, 0n, 0n, 0n]);
    expect(vm.smccc(0, SMCCC_ARCH_FEATURES, BigInt(PV_TIME_FEATURES))[0]).toBe(NS);
  });

  it('refuses an impossible version at construction', () => {
    expect(() => new SmcccConduit({ vcpus: 1, version: { major: 0, minor: 0 } })).toThrow(RangeError);
  });
});

describe('SMCCC_ARCH_FEATURES(X1)', () => {
  it.each([
    ['SMCCC_VERSION', SMCCC_VERSION, SMCCC_RET_SUCCESS],
    ['SMCCC_ARCH_FEATURES', SMCCC_ARCH_FEATURES, SMCCC_RET_SUCCESS],
    ['PV_TIME_FEATURES (implemented and visible, IPA or not)', PV_TIME_FEATURES, SMCCC_RET_SUCCESS],
    ['PV_TIME_ST (discovered through PV_TIME_FEATURES, as in KVM)', PV_TIME_ST, NS],
    ['SMC32 PV_TIME_FEATURES 0x85000020 (rule 1)', 0x8500_0020, NS],
    ['the draft PV_TIME_ST 0xC5000022', PV_TIME_ST_DRAFT_V4, NS],
    ['SMCCC_ARCH_SOC_ID (not implemented)', SmcccFunction.SMCCC_ARCH_SOC_ID, NS],
    ['SMCCC_ARCH_WORKAROUND_1 (not implemented)', SmcccFunction.SMCCC_ARCH_WORKAROUND_1, NS],
    ['an unknown id', 0xc600_1234, NS],
  ])('%s → %s', (_, queried, expected) => {
    expect(new TestVm().smccc(0, SMCCC_ARCH_FEATURES, BigInt(queried))).toEqual([expected, 0n, 0n, 0n]);
  });

  it('ARCH_FEATURES is SMC32: only W1 names the queried id', () => {
    expect(
      new TestVm().smccc(0, SMCCC_ARCH_FEATURES, 0xffff_ffff_0000_0000n | BigInt(PV_TIME_FEATURES))[0],
    ).toBe(SMCCC_RET_SUCCESS);
  });

  it('hidden (KVM_REG_ARM_STD_HYP_BMAP bit 0 clear) → NOT_SUPPORTED for PV_TIME_FEATURES', () => {
    const vm = new TestVm({ pvTime: { hidden: true } }).withRecords();
    expect(vm.smccc(0, SMCCC_ARCH_FEATURES, BigInt(PV_TIME_FEATURES))[0]).toBe(NS);
    vm.pvTime.setHidden(false);
    expect(vm.smccc(0, SMCCC_ARCH_FEATURES, BigInt(PV_TIME_FEATURES))[0]).toBe(SMCCC_RET_SUCCESS);
  });

  it("reports a service's own value (e.g. NOT_REQUIRED for a workaround the CPU does not need)", () => {
    const vm = new TestVm();
    vm.conduit.register({
      functionId: SmcccFunction.SMCCC_ARCH_WORKAROUND_2,
      archFeatures: SMCCC_RET_NOT_REQUIRED,
      call: () => 0n,
    });
    expect(vm.smccc(0, SMCCC_ARCH_FEATURES, BigInt(SmcccFunction.SMCCC_ARCH_WORKAROUND_2))[0]).toBe(
      0xffff_ffff_ffff_fffen,
    );
  });
});

describe('unknown function ids → NOT_SUPPORTED, X1..X3 = 0', () => {
  it.each([
    ['the draft v4 PV_TIME_ST 0xC5000022', PV_TIME_ST_DRAFT_V4],
    ['SMC32 PV_TIME_FEATURES 0x85000020 (rule 1)', 0x8500_0020],
    ['SMC32 PV_TIME_ST 0x85000021 (rule 1)', 0x8500_0021],
    ['yielding PV_TIME_ST 0x45000021', 0x4500_0021],
    ['PV_TIME_ST with RsvdZ bit 17 set', 0xc502_0021],
    ['PV_TIME_ST with the SVE hint below SMCCC 1.3', 0xc501_0021],
    ['SMCCC_ARCH_WORKAROUND_1', SmcccFunction.SMCCC_ARCH_WORKAROUND_1],
    ['id 0', 0],
    ['id 0xFFFFFFFF', 0xffff_ffff],
  ])('%s', (_, id) => {
    const vm = new TestVm().withRecords();
    expect(vm.smccc(0, id, 1n, 2n, 3n)).toEqual([NS, 0n, 0n, 0n]);
  });

  it('from SMCCC 1.3 the SVE-state hint (bit 16) of a fast call is ignored when looking the id up', () => {
    const vm = new TestVm({ conduit: { version: { major: 1, minor: 3 } } }).withRecords();
    expect(vm.smccc(1, 0xc501_0021)[0]).toBe(0xf040n);
  });
});

describe('services', () => {
  it('rule 9: results are written as u64, sign-extended; missing registers are 0', () => {
    const vm = new TestVm();
    vm.conduit.register({ functionId: 0xc600_0001, call: () => [-3n, -1n, 5n] });
    vm.conduit.register({ functionId: 0x8600_0001, call: () => -2n });
    expect(vm.smccc(0, 0xc600_0001)).toEqual([0xffff_ffff_ffff_fffdn, 0xffff_ffff_ffff_ffffn, 5n, 0n]);
    expect(vm.smccc(0, 0x8600_0001)).toEqual([0xffff_ffff_ffff_fffen, 0n, 0n, 0n]);
  });

  it('an SMC32 service sees W1.. (upper halves dropped); an SMC64 service sees X1..; absent args are 0', () => {
    const vm = new TestVm();
    const seen: bigint[][] = [];
    const record = (_vcpu: number, args: readonly bigint[]) => {
      seen.push([...args]);
      return 0n;
    };
    vm.conduit.register({ functionId: 0x8600_0002, call: record });
    vm.conduit.register({ functionId: 0xc600_0002, call: record });
    vm.smccc(0, 0x8600_0002, 0x1_0000_0002n);
    vm.smccc(0, 0xc600_0002, 0x1_0000_0002n);
    expect(seen).toEqual([
      [2n, 0n, 0n, 0n, 0n, 0n, 0n],
      [0x1_0000_0002n, 0n, 0n, 0n, 0n, 0n, 0n],
    ]);
  });

  it('passes the calling vCPU', () => {
    const vm = new TestVm();
    vm.conduit.register({ functionId: 0xc600_0003, call: (vcpu) => BigInt(vcpu) });
    expect(vm.smccc(3, 0xc600_0003)[0]).toBe(3n);
  });

  it('registering an id twice is a host bug', () => {
    const vm = new TestVm();
    expect(() => vm.conduit.register({ functionId: PV_TIME_ST, call: () => 0n })).toThrow(/already served/);
    expect(() => vm.conduit.register({ functionId: -1, call: () => 0n })).toThrow(RangeError);
  });

  it('names ids for traces', () => {
    const vm = new TestVm();
    expect(vm.conduit.nameOf(PV_TIME_ST)).toBe('PV_TIME_ST');
    expect(vm.conduit.nameOf(0xc600_0009)).toBe('unknown 0xc6000009');
    expect(vm.conduit.functionIds()).toEqual([
      SMCCC_VERSION,
      SMCCC_ARCH_FEATURES,
      PV_TIME_FEATURES,
      PV_TIME_ST,
    ]);
  });
});

describe('host-usage errors (a guest cannot produce them): one-line RangeErrors', () => {
  const vm = new TestVm();
  it.each([
    ['function id −1', () => vm.conduit.call(0, -1)],
    ['function id 2^32', () => vm.conduit.call(0, 2 ** 32)],
    ['function id 1.5', () => vm.conduit.call(0, 1.5)],
    ['arg −1n', () => vm.conduit.call(0, PV_TIME_ST, [-1n])],
    ['arg 2^64', () => vm.conduit.call(0, PV_TIME_ST, [1n << 64n])],
    ['arg as a number', () => vm.conduit.call(0, PV_TIME_ST, [1 as unknown as bigint])],
    ['18 args', () => vm.conduit.call(0, PV_TIME_ST, new Array<bigint>(18).fill(0n))],
    ['vCPU 4 of 4', () => vm.conduit.call(VCPUS, PV_TIME_ST)],
    ['vCPU −1', () => vm.conduit.call(-1, PV_TIME_ST)],
  ])('%s', (_, run) => {
    expect(run).toThrow(RangeError);
    try {
      run();
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
      expect((e as Error).message).toMatch(/not accepted|not a vCPU|at most/);
    }
  });
});

describe('guest-controlled input never throws (fast-check)', () => {
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const known: readonly number[] = [SMCCC_VERSION, SMCCC_ARCH_FEATURES, PV_TIME_FEATURES, PV_TIME_ST];
  const functionId = fc.oneof(
    fc.integer({ min: 0, max: 0xffff_ffff }),
    fc.constantFrom(...known, PV_TIME_ST_DRAFT_V4, 0x8500_0020, 0x8500_0021),
    fc.integer({ min: 0, max: 0xff }).map((n) => (0xc500_0000 | n) >>> 0),
  );

  test.prop([
    fc.integer({ min: 0, max: VCPUS - 1 }),
    functionId,
    fc.array(u64, { maxLength: 17 }),
    fc.boolean(),
    fc.boolean(),
  ])(
    'any id, any args: four u64 registers; unknown ids give NOT_SUPPORTED',
    (vcpu, id, args, records, hidden) => {
      const vm = new TestVm({ pvTime: { hidden } });
      if (records) vm.withRecords();
      const regs = vm.smccc(vcpu, id, ...args);
      expect(regs).toHaveLength(4);
      for (const r of regs) expect(r >= 0n && r < 1n << 64n).toBe(true);
      if (!known.includes(id)) expect(regs).toEqual([NS, 0n, 0n, 0n]);
    },
  );
});
