import { GuestFault, HvCallCode, HvStatus, type HvStatusCode, hvStatusName } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { HV_VP_INDEX_SELF } from '../src/wire/ids.ts';
import { HvRegisterName as R } from '../src/wire/registers.ts';
import { EnableVpVtlInput } from '../src/wire/vtl-management.ts';
import { TestVm, type TestVmOptions, titled } from './fixtures.ts';

function partitionInput(
  vtl: number,
  opts: { partitionId?: bigint; flags?: number; rsvd?: number } = {},
): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, opts.partitionId ?? 0xffff_ffff_ffff_ffffn, true);
  v.setUint8(8, vtl);
  v.setUint8(9, opts.flags ?? 0);
  v.setUint8(12, opts.rsvd ?? 0);
  return b;
}

function vpInput(
  vtl: number,
  opts: { partitionId?: bigint; vpIndex?: number; rsvd?: number; rip?: bigint } = {},
): Uint8Array {
  const b = new Uint8Array(EnableVpVtlInput.size);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, opts.partitionId ?? 0xffff_ffff_ffff_ffffn, true);
  v.setUint32(8, opts.vpIndex ?? HV_VP_INDEX_SELF, true);
  v.setUint8(12, vtl);
  v.setUint8(14, opts.rsvd ?? 0);
  v.setBigUint64(16, opts.rip ?? 0n, true);
  return b;
}

interface Case {
  readonly what: string;
  readonly input: Uint8Array;
  readonly status: HvStatusCode;
  readonly setup?: (vm: TestVm) => void;
  readonly vm?: TestVmOptions;
  readonly caller?: number;
}

const PARTITION_CASES: readonly Case[] = [
  {
    what: 'VTL0 enables VTL1 (the highest enabled VTL below it)',
    input: partitionInput(1),
    status: HvStatus.SUCCESS,
  },
  {
    what: 'without AccessVsm',
    input: partitionInput(1),
    status: HvStatus.ACCESS_DENIED,
    vm: { drop: ['AccessVsm'] },
  },
  {
    what: 'partition id 1',
    input: partitionInput(1, { partitionId: 1n }),
    status: HvStatus.INVALID_PARTITION_ID,
  },
  { what: 'Flags RsvdZ bit 3', input: partitionInput(1, { flags: 8 }), status: HvStatus.INVALID_PARAMETER },
  { what: 'RsvdZ byte 12', input: partitionInput(1, { rsvd: 1 }), status: HvStatus.INVALID_PARAMETER },
  { what: 'TargetVtl 3 > maximum 2', input: partitionInput(3), status: HvStatus.INVALID_PARAMETER },
  {
    what: 'TargetVtl 2 > maximumVtl 1',
    input: partitionInput(2),
    status: HvStatus.INVALID_PARAMETER,
    vm: { vtl: { maximumVtl: 1 } },
  },
  { what: 'VTL0 (always enabled)', input: partitionInput(0), status: HvStatus.VTL_ALREADY_ENABLED },
  {
    what: 'VTL1 twice',
    input: partitionInput(1),
    status: HvStatus.VTL_ALREADY_ENABLED,
    setup: (vm) => vm.enable(1, []),
  },
  {
    what: 'rule 4: VTL0 enables VTL2 while VTL1 is the highest enabled below it',
    input: partitionInput(2),
    status: HvStatus.ACCESS_DENIED,
    setup: (vm) => vm.enable(1, []),
  },
  {
    what: 'rule 4: VTL2 enables the lower VTL1',
    input: partitionInput(1),
    status: HvStatus.SUCCESS,
    setup: (vm) => {
      vm.enable(2, [1]);
      vm.runIn(1, 2);
    },
  },
  {
    what: 'rule 4: VTL0 enables VTL2 when VTL1 is not enabled',
    input: partitionInput(2, { flags: 0b011 }),
    status: HvStatus.SUCCESS,
  },
];

const VP_CASES: readonly Case[] = [
  {
    what: 'VTL0 enables VTL1 on itself (HV_VP_INDEX_SELF), VTL1 highest below',
    input: vpInput(1),
    status: HvStatus.SUCCESS,
    setup: (vm) => vm.enable(1, []),
  },
  {
    what: 'without AccessVsm',
    input: vpInput(1),
    status: HvStatus.ACCESS_DENIED,
    vm: { drop: ['AccessVsm'] },
  },
  { what: 'partition id 5', input: vpInput(1, { partitionId: 5n }), status: HvStatus.INVALID_PARTITION_ID },
  { what: 'VP index 4 of 4', input: vpInput(1, { vpIndex: 4 }), status: HvStatus.INVALID_VP_INDEX },
  { what: 'RsvdZ byte 14', input: vpInput(1, { rsvd: 1 }), status: HvStatus.INVALID_PARAMETER },
  { what: 'TargetVtl 7', input: vpInput(7), status: HvStatus.INVALID_PARAMETER },
  {
    what: 'rule 4: VTL1 not enabled for the partition',
    input: vpInput(1),
    status: HvStatus.INVALID_VTL_STATE,
  },
  {
    what: 'rule 4: enabling twice fails',
    input: vpInput(1, { vpIndex: 2 }),
    status: HvStatus.VTL_ALREADY_ENABLED,
    setup: (vm) => vm.enable(1, [2]),
  },
  {
    what: 'rule 4: VTL0 enables VTL2 while VTL1 is the highest partition VTL below it',
    input: vpInput(2),
    status: HvStatus.ACCESS_DENIED,
    setup: (vm) => {
      vm.enable(1, []);
      vm.enable(2, []);
    },
  },
  {
    what: 'rule 4: VTL1 enables VTL1 on another VP',
    input: vpInput(1, { vpIndex: 3 }),
    status: HvStatus.SUCCESS,
    setup: (vm) => {
      vm.enable(1, [1]);
      vm.runIn(1, 1);
    },
  },
];

function runCases(name: string, code: number, cases: readonly Case[]): void {
  describe(`${name} (0x${code.toString(16).padStart(4, '0')}): every status`, () => {
    it.each(titled(cases, (c) => `${c.what} → ${hvStatusName(c.status)}`))('%s', (_t, c) => {
      const vm = new TestVm(c.vm ?? {});
      c.setup?.(vm);
      const out = vm.call('memory', c.caller ?? 1, { callCode: code }, c.input);
      expect(hvStatusName(out.status)).toBe(hvStatusName(c.status));
    });
  });
}

runCases('HvCallEnablePartitionVtl', HvCallCode.HvCallEnablePartitionVtl, PARTITION_CASES);
runCases('HvCallEnableVpVtl', HvCallCode.HvCallEnableVpVtl, VP_CASES);

describe('enabling: state, events, VsmVpStatus / VsmPartitionStatus', () => {
  it('EnablePartitionVtl records MBEC/SSS flags and the event; VsmPartitionStatus reflects it', () => {
    const vm = new TestVm();
    expect(
      vm.call(
        'memory',
        0,
        { callCode: HvCallCode.HvCallEnablePartitionVtl },
        partitionInput(1, { flags: 0b011 }),
      ).status,
    ).toBe(0);
    expect(vm.events).toEqual([{ kind: 'partition-vtl-enabled', vtl: 1, by: 0 }]);
    expect(vm.get(0, [R.VsmPartitionStatus]).values).toEqual([
      (0b10n << 36n) | (0b10n << 20n) | (2n << 16n) | 0b11n,
    ]);
  });

  it('EnableVpVtl keeps the initial context, does not switch VTL, and VsmVpStatus shows the enabled set', () => {
    const vm = new TestVm();
    vm.enable(1, []);
    const out = vm.call(
      'fast',
      2,
      { callCode: HvCallCode.HvCallEnableVpVtl },
      vpInput(1, { rip: 0xffff_8000_0000_1000n }),
    );
    // 240 bytes of input do not fit the 14 fast slots.
    expect(out.status).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(
      vm.call(
        'memory',
        2,
        { callCode: HvCallCode.HvCallEnableVpVtl },
        vpInput(1, { rip: 0xffff_8000_0000_1000n }),
      ).status,
    ).toBe(0);
    const ctx = vm.vtl.vp(2).registers(1).initialContext!;
    expect(new DataView(ctx.buffer).getBigUint64(0, true)).toBe(0xffff_8000_0000_1000n);
    expect(vm.vtl.activeVtl(2)).toBe(0);
    expect(vm.get(2, [R.VsmVpStatus]).values).toEqual([0x3_0000n]);
    expect(vm.events.at(-1)).toEqual({ kind: 'vp-vtl-enabled', vp: 2, vtl: 1, by: 2 });
  });

  it('EnablePartitionVtl in register-fast form', () => {
    const vm = new TestVm();
    expect(
      vm.call('fast', 0, { callCode: HvCallCode.HvCallEnablePartitionVtl }, partitionInput(1)).status,
    ).toBe(HvStatus.SUCCESS);
    expect(vm.vtl.isPartitionVtlEnabled(1)).toBe(true);
  });
});

describe('HvCallVtlCall (0x0011) / HvCallVtlReturn (0x0012)', () => {
  function vsmVm(): TestVm {
    const vm = new TestVm();
    vm.enable(1, [0, 1]);
    vm.enable(2, [1]);
    return vm;
  }
  const { HvCallVtlCall: VTL_CALL, HvCallVtlReturn: VTL_RETURN } = HvCallCode;
  const bare = (vm: TestVm, vp: number, code: number, rax = 0n) => {
    vm.partition.vp(vp).rax = rax;
    return vm.call('memory', vp, { callCode: code }, new Uint8Array(0));
  };
  const ud = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(GuestFault);
      expect((e as GuestFault).vector).toBe('UD');
      return (e as GuestFault).message;
    }
    throw new Error('expected #UD');
  };

  it('VtlCall switches to the next higher enabled VTL; VtlReturn goes back; VsmVpStatus follows', () => {
    const vm = vsmVm();
    expect(bare(vm, 0, VTL_CALL).status).toBe(HvStatus.SUCCESS);
    expect(vm.vtl.activeVtl(0)).toBe(1);
    expect(vm.get(0, [R.VsmVpStatus]).values).toEqual([0x3_0001n]);
    expect(bare(vm, 0, VTL_RETURN, 1n).status).toBe(HvStatus.SUCCESS);
    expect(vm.vtl.activeVtl(0)).toBe(0);
    expect(vm.events.filter((e) => e.kind === 'vtl-switch')).toEqual([
      { kind: 'vtl-switch', vp: 0, from: 0, to: 1, via: 'vtl-call', fast: false },
      { kind: 'vtl-switch', vp: 0, from: 1, to: 0, via: 'vtl-return', fast: true },
    ]);
  });

  it('nested calls 0 → 1 → 2 return 2 → 1 → 0; a VTL entered without a call returns to the highest below', () => {
    const vm = vsmVm();
    bare(vm, 1, VTL_CALL);
    bare(vm, 1, VTL_CALL);
    expect(vm.vtl.activeVtl(1)).toBe(2);
    bare(vm, 1, VTL_RETURN);
    expect(vm.vtl.activeVtl(1)).toBe(1);
    bare(vm, 1, VTL_RETURN);
    expect(vm.vtl.activeVtl(1)).toBe(0);
    vm.runIn(1, 2);
    bare(vm, 1, VTL_RETURN);
    expect(vm.vtl.activeVtl(1)).toBe(1);
  });

  it.each([
    ['VtlCall with RAX ≠ 0', VTL_CALL, 1n],
    ['VtlReturn with RAX bit 1', VTL_RETURN, 2n],
  ] as const)('rule 3: %s → #UD', (_t, code, rax) => {
    const vm = vsmVm();
    vm.runIn(0, code === VTL_RETURN ? 1 : 0);
    expect(ud(() => bare(vm, 0, code, rax))).toMatch(/RAX/);
  });

  it.each([
    ['Fast', 1n << 16n],
    ['RepCount 1', 1n << 32n],
    ['VariableHeaderSize 1', 1n << 17n],
    ['RsvdZ bit 27', 1n << 27n],
  ])('rule 3: control with %s → #UD (not a status)', (_t, extra) => {
    for (const code of [VTL_CALL, VTL_RETURN]) {
      const vm = vsmVm();
      vm.runIn(0, 1);
      const regs = vm.partition.vp(0).registers;
      regs.control = BigInt(code) | extra;
      expect(ud(() => vm.partition.hypercall(0, regs))).toMatch(/only the bare call code/);
      expect(vm.vtl.activeVtl(0)).toBe(1);
    }
  });

  it('VtlCall from the highest enabled VTL → #UD; VtlReturn from VTL0 → #UD', () => {
    const vm = vsmVm();
    vm.runIn(0, 1);
    expect(ud(() => bare(vm, 0, VTL_CALL))).toMatch(/no higher VTL/);
    vm.runIn(0, 0);
    expect(ud(() => bare(vm, 0, VTL_RETURN))).toMatch(/no lower VTL/);
  });

  it('without AccessVsm: ACCESS_DENIED', () => {
    const vm = new TestVm({ drop: ['AccessVsm'] });
    expect(bare(vm, 0, VTL_CALL).status).toBe(HvStatus.ACCESS_DENIED);
    expect(bare(vm, 0, VTL_RETURN).status).toBe(HvStatus.ACCESS_DENIED);
  });
});
