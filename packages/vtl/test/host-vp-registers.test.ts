import { HvStatus, type HvStatusCode, hvStatusName } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { MODELLED_REGISTERS, VTL_CALL_PAGE_OFFSET, VTL_RETURN_PAGE_OFFSET } from '../src/host/index.ts';
import { inputVtl } from '../src/wire/input-vtl.ts';
import { HvRegisterName as R } from '../src/wire/registers.ts';
import { FORMS, type Header, type SetEntry, TestVm, type TestVmOptions, titled } from './fixtures.ts';

interface GetCase {
  readonly what: string;
  readonly names: readonly number[];
  readonly header?: Header;
  readonly status: HvStatusCode;
  readonly reps: number;
  readonly setup?: (vm: TestVm) => void;
  readonly vm?: TestVmOptions;
}

const GET_CASES: readonly GetCase[] = [
  { what: 'SELF/SELF, current VTL, VsmVpStatus', names: [R.VsmVpStatus], status: HvStatus.SUCCESS, reps: 1 },
  {
    what: 'rule 1: without AccessVpRegisters',
    names: [R.VpIndex],
    status: HvStatus.ACCESS_DENIED,
    reps: 0,
    vm: { drop: ['AccessVpRegisters'] },
  },
  {
    what: 'rule 1: a partition id other than SELF',
    names: [R.VpIndex],
    header: { partitionId: 1n },
    status: HvStatus.INVALID_PARTITION_ID,
    reps: 0,
  },
  {
    what: 'rule 1: VP index 4 of 4',
    names: [R.VpIndex],
    header: { vpIndex: 4 },
    status: HvStatus.INVALID_VP_INDEX,
    reps: 0,
  },
  {
    what: 'rule 1: HV_ANY_VP',
    names: [R.VpIndex],
    header: { vpIndex: 0xffff_ffff },
    status: HvStatus.INVALID_VP_INDEX,
    reps: 0,
  },
  {
    what: 'rule 2: HV_INPUT_VTL RsvdZ bit 5',
    names: [R.VpIndex],
    header: { inputVtl: 0x20 },
    status: HvStatus.INVALID_PARAMETER,
    reps: 0,
  },
  {
    what: 'rule 2: TargetVtl 3 > 2',
    names: [R.VpIndex],
    header: { inputVtl: 0x13 },
    status: HvStatus.INVALID_PARAMETER,
    reps: 0,
  },
  {
    what: 'header RsvdZ bytes 13–15 set',
    names: [R.VpIndex],
    header: { reserved: 0x100 },
    status: HvStatus.INVALID_PARAMETER,
    reps: 0,
  },
  {
    what: 'VTL0 reading VTL1 state (a lower VTL cannot see a higher one)',
    names: [R.VpIndex],
    header: { inputVtl: inputVtl(1) },
    status: HvStatus.ACCESS_DENIED,
    reps: 0,
    setup: (vm) => vm.enable(1, [0, 1, 2, 3]),
  },
  {
    what: 'VTL1 reading VTL1 of a VP where VTL1 is not enabled',
    names: [R.VpIndex],
    header: { inputVtl: inputVtl(1), vpIndex: 2 },
    status: HvStatus.INVALID_VTL_STATE,
    reps: 0,
    setup: (vm) => {
      vm.enable(1, [1]);
      vm.runIn(1, 1);
    },
  },
  {
    what: 'rule 1: unknown name → UNKNOWN_REGISTER_NAME (openvmm, default)',
    names: [R.VpIndex, 0x0000_0005, R.VsmVpStatus],
    status: HvStatus.UNKNOWN_REGISTER_NAME,
    reps: 1,
  },
  {
    what: "rule 1: unknown name with unknownRegister: 'INVALID_PARAMETER' (TLFS)",
    names: [0x1234_5678],
    status: HvStatus.INVALID_PARAMETER,
    reps: 0,
    vm: { vtl: { unknownRegister: 'INVALID_PARAMETER' } },
  },
  {
    what: 'a VSM register without AccessVsm',
    names: [R.VpIndex, R.VsmVpStatus],
    status: HvStatus.ACCESS_DENIED,
    reps: 1,
    vm: { drop: ['AccessVsm'] },
  },
  {
    what: 'VsmVpSecureConfigVtl0 read in VTL0 (N must be below the VTL)',
    names: [R.VsmVpSecureConfigVtl0],
    status: HvStatus.INVALID_PARAMETER,
    reps: 0,
  },
];

describe('HvCallGetVpRegisters (0x0050): every status', () => {
  const rows = GET_CASES.flatMap((c) => FORMS.map((form) => ({ ...c, form })));
  it.each(titled(rows, (r) => `${r.form}: ${r.what} → ${hvStatusName(r.status)}, ${r.reps} rep(s)`))(
    '%s',
    (_t, r) => {
      const vm = new TestVm(r.vm ?? {});
      r.setup?.(vm);
      const out = vm.get(1, r.names, r.header ?? {}, r.form);
      expect({ status: hvStatusName(out.status), reps: out.reps }).toEqual({
        status: hvStatusName(r.status),
        reps: r.reps,
      });
    },
  );

  it('values: VpIndex, VsmVpStatus (ActiveVtl, EnabledVtlSet), code page offsets, zero-extended', () => {
    const vm = new TestVm();
    vm.enable(1, [2]);
    vm.runIn(2, 1);
    const out = vm.get(2, [R.VpIndex, R.VsmVpStatus, R.VsmCodePageOffsets, R.VsmPartitionStatus]);
    expect(out.values).toEqual([
      2n,
      0x0003_0001n,
      BigInt(VTL_CALL_PAGE_OFFSET | (VTL_RETURN_PAGE_OFFSET << 12)),
      0x2_0003n,
    ]);
  });

  it('another VP by index: VP 0 reads VP 3', () => {
    const vm = new TestVm();
    expect(vm.get(0, [R.VpIndex], { vpIndex: 3 }).values).toEqual([3n]);
  });

  it('HypervisorVersion = CPUID 0x40000002 (EAX, EBX, ECX, EDX as one 128-bit value)', () => {
    const vm = new TestVm();
    const c = vm.partition.cpuid(0x4000_0002);
    const out = vm.get(0, [R.HypervisorVersion]);
    expect(out.values).toEqual([
      BigInt(c.eax) | (BigInt(c.ebx) << 32n) | (BigInt(c.ecx) << 64n) | (BigInt(c.edx) << 96n),
    ]);
  });
});

describe('HvCallGetVpRegisters / SetVpRegisters: rep continuation (spec 01 rules 8–10)', () => {
  const names = [R.VpIndex, R.GuestOsId, R.VsmCodePageOffsets];
  it.each(FORMS)('%s: a time-sliced Get resumes at RepStartIndex and writes only its elements', (form) => {
    const vm = new TestVm({ maxRepsPerCall: 2 });
    const first = vm.get(3, names, {}, form, 0);
    expect([first.status, first.reps]).toEqual([HvStatus.SUCCESS, 2]);
    expect(first.values).toEqual([3n, vm.partition.guestOsId]);
    const second = vm.get(3, names, {}, form, 2);
    expect([second.status, second.reps]).toEqual([HvStatus.SUCCESS, 3]);
    expect(second.values[2]).toBe(0x02_0010n);
  });

  it('a Set stops at the first bad element; the ones before it are written', () => {
    const vm = new TestVm({ maxRepsPerCall: 2 });
    const entries: SetEntry[] = [
      { name: R.VpAssistPage, value: 0x7001n },
      { name: R.InstructionEmulationHints, value: 5n },
      { name: R.VpAssistPage, value: 0x9001n },
      { name: R.VpIndex, value: 9n },
    ];
    expect(vm.set(0, entries).reps).toBe(2);
    const out = vm.set(0, entries, {}, 'memory', 2);
    expect([out.status, out.reps]).toEqual([HvStatus.ACCESS_DENIED, 3]);
    expect(vm.vtl.readRegister(0, 0, R.VpAssistPage)).toBe(0x9001n);
    expect(vm.vtl.readRegister(0, 0, R.InstructionEmulationHints)).toBe(5n);
  });
});

interface SetCase {
  readonly what: string;
  readonly entries: readonly SetEntry[];
  readonly header?: Header;
  readonly status: HvStatusCode;
  readonly reps: number;
  readonly setup?: (vm: TestVm) => void;
  readonly vm?: TestVmOptions;
  readonly caller?: number;
}

const SET_CASES: readonly SetCase[] = [
  {
    what: 'VpAssistPage',
    entries: [{ name: R.VpAssistPage, value: 0x5001n }],
    status: HvStatus.SUCCESS,
    reps: 1,
  },
  {
    what: 'rule 1: without AccessVpRegisters',
    entries: [{ name: R.VpAssistPage, value: 1n }],
    status: HvStatus.ACCESS_DENIED,
    reps: 0,
    vm: { drop: ['AccessVpRegisters'] },
  },
  {
    what: 'rule 1: partition id 7',
    entries: [{ name: R.VpAssistPage, value: 1n }],
    header: { partitionId: 7n },
    status: HvStatus.INVALID_PARTITION_ID,
    reps: 0,
  },
  {
    what: 'rule 1: VP index 9',
    entries: [{ name: R.VpAssistPage, value: 1n }],
    header: { vpIndex: 9 },
    status: HvStatus.INVALID_VP_INDEX,
    reps: 0,
  },
  {
    what: 'rule 2: HV_INPUT_VTL 0x80',
    entries: [{ name: R.VpAssistPage, value: 1n }],
    header: { inputVtl: 0x80 },
    status: HvStatus.INVALID_PARAMETER,
    reps: 0,
  },
  {
    what: 'VTL0 writing VTL2',
    entries: [{ name: R.VpAssistPage, value: 1n }],
    header: { inputVtl: inputVtl(2) },
    status: HvStatus.ACCESS_DENIED,
    reps: 0,
    setup: (vm) => vm.enable(2, [0, 1, 2, 3]),
  },
  {
    what: 'VTL2 writing VTL1, not enabled on the VP',
    entries: [{ name: R.VpAssistPage, value: 1n }],
    header: { inputVtl: inputVtl(1) },
    status: HvStatus.INVALID_VTL_STATE,
    reps: 0,
    setup: (vm) => {
      vm.enable(2, [1]);
      vm.runIn(1, 2);
    },
  },
  {
    what: 'element RsvdZ bytes 4–15 set',
    entries: [{ name: R.VpAssistPage, value: 1n, reserved: 1 }],
    status: HvStatus.INVALID_PARAMETER,
    reps: 0,
  },
  {
    what: 'rule 1: a read-only register (VpIndex)',
    entries: [{ name: R.VpIndex, value: 1n }],
    status: HvStatus.ACCESS_DENIED,
    reps: 0,
  },
  {
    what: 'rule 1: unknown name',
    entries: [{ name: 0x00ab_cdef, value: 1n }],
    status: HvStatus.UNKNOWN_REGISTER_NAME,
    reps: 0,
  },
  {
    what: 'RsvdZ bits of the value (ExplicitSuspend bit 1)',
    entries: [{ name: R.ExplicitSuspend, value: 2n }],
    status: HvStatus.INVALID_PARAMETER,
    reps: 0,
  },
  {
    what: 'a value above 64 bits',
    entries: [{ name: R.VpAssistPage, value: 1n << 64n }],
    status: HvStatus.INVALID_PARAMETER,
    reps: 0,
  },
  {
    what: 'rule 11: the guest cannot set ExplicitSuspend.Suspended',
    entries: [{ name: R.ExplicitSuspend, value: 1n }],
    status: HvStatus.ACCESS_DENIED,
    reps: 0,
  },
  {
    what: 'rule 11: … but can clear it',
    entries: [{ name: R.ExplicitSuspend, value: 0n }],
    status: HvStatus.SUCCESS,
    reps: 1,
    setup: (vm) => vm.vtl.writeRegister(1, 0, R.ExplicitSuspend, 1n),
  },
  {
    what: 'TlbLocked of VTL0 set from VTL0 (only a higher VTL may lock)',
    entries: [{ name: R.InterceptSuspend, value: 2n }],
    status: HvStatus.ACCESS_DENIED,
    reps: 0,
  },
  {
    what: 'TlbLocked of VTL0 set from VTL1',
    entries: [{ name: R.InterceptSuspend, value: 2n }],
    header: { inputVtl: inputVtl(0) },
    status: HvStatus.SUCCESS,
    reps: 1,
    setup: (vm) => {
      vm.enable(1, [1]);
      vm.runIn(1, 1);
    },
  },
  {
    what: 'a VSM register without AccessVsm',
    entries: [{ name: R.VsmPartitionConfig, value: 1n }],
    status: HvStatus.ACCESS_DENIED,
    reps: 0,
    vm: { drop: ['AccessVsm'] },
  },
];

describe('HvCallSetVpRegisters (0x0051): every status', () => {
  const rows = SET_CASES.flatMap((c) => FORMS.map((form) => ({ ...c, form })));
  it.each(titled(rows, (r) => `${r.form}: ${r.what} → ${hvStatusName(r.status)}`))('%s', (_t, r) => {
    const vm = new TestVm(r.vm ?? {});
    r.setup?.(vm);
    const out = vm.set(r.caller ?? 1, r.entries, r.header ?? {}, r.form);
    expect({ status: hvStatusName(out.status), reps: out.reps }).toEqual({
      status: hvStatusName(r.status),
      reps: r.reps,
    });
  });
});

/** A value every writable register accepts (no RsvdZ bits), distinct per register and VTL. */
function sample(name: number, vtl: number): bigint {
  const r = MODELLED_REGISTERS.find((m) => m.name === name)!;
  const candidate = (BigInt(name & 0xff) << 20n) | 0x730n | BigInt(vtl);
  // Suspended bits: the guest may not set them; TlbLocked is set from a higher VTL below.
  const tlbLocked = name === R.InterceptSuspend && vtl === 2 ? 2n : 0n;
  return candidate & ~r.reservedZeroMask & ~1n & ~tlbLocked;
}

describe('every modelled register in every VTL (table): Set from the VTL above, Get back', () => {
  const rows = [0, 1, 2].flatMap((vtl) => MODELLED_REGISTERS.map((reg) => ({ reg, vtl })));
  it.each(titled(rows, (r) => `VTL${r.vtl} ${r.reg.spec} (${r.reg.readOnly ? 'read-only' : 'read-write'})`))(
    '%s',
    (_t, { reg, vtl }) => {
      const vm = new TestVm();
      vm.enable(1, [0, 1, 2, 3]);
      vm.enable(2, [0, 1, 2, 3]);
      vm.runIn(1, 2);
      const header = { inputVtl: inputVtl(vtl), vpIndex: 3 };
      const secureN = reg.name - R.VsmVpSecureConfigVtl0;
      const secureInvalid = secureN >= 0 && secureN <= 14 && secureN >= vtl;
      const value = sample(reg.name, vtl);
      const set = vm.set(1, [{ name: reg.name, value }], header);
      const get = vm.get(1, [reg.name], header);
      if (secureInvalid) {
        expect([set.status, get.status]).toEqual([HvStatus.INVALID_PARAMETER, HvStatus.INVALID_PARAMETER]);
        return;
      }
      expect(get.status).toBe(HvStatus.SUCCESS);
      if (reg.readOnly) {
        expect(set.status).toBe(HvStatus.ACCESS_DENIED);
        expect(get.values[0]).toBe(vm.vtl.readRegister(3, vtl, reg.name));
      } else {
        expect(set.status).toBe(HvStatus.SUCCESS);
        expect(get.values).toEqual([value]);
        // Only that VTL's copy changed (partition-wide config is per VTL too).
        for (const other of [0, 1, 2].filter((v) => v !== vtl)) {
          const untouched = reg.name === R.GuestOsId && other === 0 ? vm.partition.guestOsId : 0n;
          if (secureN >= other) continue;
          expect(vm.vtl.readRegister(3, other, reg.name)).toBe(untouched);
        }
      }
    },
  );
});
