import { describe, expect, it } from 'vitest';
import { X64HypercallRegisters } from '../src/host/calling-convention.ts';
import { HvCallCode } from '../src/wire/call-code.ts';
import { encodeHypercallControl } from '../src/wire/control.ts';
import type { HvFeatureName } from '../src/wire/cpuid.ts';
import { HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL, HV_X64_MSR_VP_INDEX } from '../src/wire/msr.ts';
import {
  ALL_CORE_FEATURES,
  catchGuestFault,
  HYPERCALL_PAGE_GPA,
  LINUX_GUEST_OS_ID,
  makePartition,
  RAM_BYTES,
  titled,
} from './fixtures.ts';

const without = (...drop: HvFeatureName[]) => ALL_CORE_FEATURES.filter((f) => !drop.includes(f));
const pageBytes = (p: ReturnType<typeof makePartition>, gpa = HYPERCALL_PAGE_GPA) => [
  ...p.memory.read(gpa, 4),
];
const fastNotify = () => {
  const regs = new X64HypercallRegisters();
  regs.control = encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait, fast: true });
  return regs;
};

describe('HV_X64_MSR_GUEST_OS_ID (0x40000000)', () => {
  it('reads back what the guest wrote, partition-wide (written on VP 0, read on VP 1)', () => {
    const p = makePartition();
    expect(p.readMsr(1, HV_X64_MSR_GUEST_OS_ID)).toBe(0n);
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    expect(p.readMsr(1, HV_X64_MSR_GUEST_OS_ID)).toBe(0x8100_0000_0000_0000n);
  });

  it('WRMSR takes the 64-bit value (EDX:EAX): -1 reads back as 0xFFFF_FFFF_FFFF_FFFF', () => {
    const p = makePartition();
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, -1n);
    expect(p.readMsr(0, HV_X64_MSR_GUEST_OS_ID)).toBe(0xffff_ffff_ffff_ffffn);
  });
});

describe('HV_X64_MSR_HYPERCALL (0x40000001) — spec 01 rule 15', () => {
  it('"writes are ignored while GUEST_OS_ID == 0": no Enable, no page, VMCALL stays #UD', () => {
    const p = makePartition();
    p.writeMsr(0, HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA | 1n);
    expect(p.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0n);
    expect(p.hypercallsEnabled).toBe(false);
    expect(pageBytes(p)).toEqual([0, 0, 0, 0]);
    catchGuestFault(() => p.hypercall(0, fastNotify()), 'UD');
  });

  it.each<['intel' | 'amd', number[]]>([
    ['intel', [0x0f, 0x01, 0xc1, 0xc3]],
    ['amd', [0x0f, 0x01, 0xd9, 0xc3]],
  ])('"on Enable the hypervisor fills the page at GPFN with a call stub": %s', (vendor, code) => {
    const p = makePartition({ vendor });
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    p.writeMsr(0, HV_X64_MSR_HYPERCALL, 0x5001n);
    expect(p.readMsr(1, HV_X64_MSR_HYPERCALL)).toBe(0x5001n);
    expect(p.hypercallsEnabled).toBe(true);
    expect(pageBytes(p, 0x5000n)).toEqual(code);
    expect(p.memory.readU8(0x5004n)).toBe(0);
    expect(p.hypercall(0, fastNotify())).toBe(0n);
  });

  it('a write without Enable records the GPFN but neither fills the page nor enables hypercalls', () => {
    const p = makePartition();
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    p.writeMsr(0, HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA);
    expect(p.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0x1000n);
    expect(pageBytes(p)).toEqual([0, 0, 0, 0]);
    catchGuestFault(() => p.hypercall(0, fastNotify()), 'UD');
  });

  it.each(
    titled(
      [
        { where: 'the first page beyond RAM', value: BigInt(RAM_BYTES) | 1n },
        { where: 'the top GPFN', value: 0xffff_ffff_ffff_f001n },
      ],
      (c) => `a hypercall page outside RAM is #GP (${c.where}) and the MSR keeps its value`,
    ),
  )('%s', (_title, { value }) => {
    const p = makePartition();
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    catchGuestFault(() => p.writeMsr(0, HV_X64_MSR_HYPERCALL, value), 'GP');
    expect(p.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0n);
    expect(p.hypercallsEnabled).toBe(false);
  });

  it('the last page of RAM is a valid hypercall page', () => {
    const p = makePartition();
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    p.writeMsr(0, HV_X64_MSR_HYPERCALL, BigInt(RAM_BYTES - 4096) | 1n);
    expect(pageBytes(p, BigInt(RAM_BYTES - 4096))).toEqual([0x0f, 0x01, 0xc1, 0xc3]);
  });

  it('"writing GUEST_OS_ID = 0 clears Enable" (the GPFN stays); VMCALL is #UD again', () => {
    const p = makePartition();
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    p.writeMsr(0, HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA | 1n);
    expect(p.hypercall(0, fastNotify())).toBe(0n);
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, 0n);
    expect(p.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0x1000n);
    catchGuestFault(() => p.hypercall(0, fastNotify()), 'UD');
  });

  it('Locked (bit 1) with HypercallMsrLock: accepted, then any later write is #GP', () => {
    const p = makePartition();
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    p.writeMsr(0, HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA | 0b11n);
    expect(p.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0x1003n);
    for (const value of [0n, 0x1001n, 0x1003n, 0x2003n]) {
      catchGuestFault(() => p.writeMsr(1, HV_X64_MSR_HYPERCALL, value), 'GP');
    }
    expect(p.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0x1003n);
  });

  it('Locked without the HypercallMsrLock feature is #GP and changes nothing', () => {
    const p = makePartition({ features: without('HypercallMsrLock') });
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    catchGuestFault(() => p.writeMsr(0, HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA | 0b11n), 'GP');
    expect(p.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0n);
    p.writeMsr(0, HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA | 1n);
    expect(p.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0x1001n);
  });

  it('"11:2 reserved (preserve)": RsvdP bits the guest writes read back unchanged', () => {
    const p = makePartition();
    p.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    p.writeMsr(0, HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA | 0xffcn | 1n);
    expect(p.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0x1ffdn);
    expect(p.hypercallsEnabled).toBe(true);
  });
});

describe('HV_X64_MSR_VP_INDEX (0x40000002) — "read-only VP index"', () => {
  it('each VP reads its own index', () => {
    const p = makePartition({ vcpus: 3 });
    expect([0, 1, 2].map((vp) => p.readMsr(vp, HV_X64_MSR_VP_INDEX))).toEqual([0n, 1n, 2n]);
  });

  it.each([0, 1, 7])('WRMSR of %i is #GP (read-only)', (value) => {
    const p = makePartition();
    catchGuestFault(() => p.writeMsr(1, HV_X64_MSR_VP_INDEX, BigInt(value)), 'GP');
    expect(p.readMsr(1, HV_X64_MSR_VP_INDEX)).toBe(1n);
  });
});

describe('Synthetic MSR gating — KVM enforced CPUID: a feature not exposed makes the MSR #GP', () => {
  it.each(
    titled<{ msr: string; number: bigint; gate: HvFeatureName }>(
      [
        { msr: 'GUEST_OS_ID', number: HV_X64_MSR_GUEST_OS_ID, gate: 'AccessHypercallMsrs' },
        { msr: 'HYPERCALL', number: HV_X64_MSR_HYPERCALL, gate: 'AccessHypercallMsrs' },
        { msr: 'VP_INDEX', number: HV_X64_MSR_VP_INDEX, gate: 'AccessVpIndex' },
      ],
      (c) => `${c.msr} without ${c.gate}: RDMSR and WRMSR are #GP; with it, RDMSR works`,
    ),
  )('%s', (_title, { number, gate }) => {
    const closed = makePartition({ features: without(gate) });
    expect(catchGuestFault(() => closed.readMsr(0, number), 'GP').message).toContain(gate);
    catchGuestFault(() => closed.writeMsr(0, number, 0n), 'GP');
    const open = makePartition();
    expect(typeof open.readMsr(0, number)).toBe('bigint');
  });

  it('VP_INDEX stays readable when only AccessHypercallMsrs is dropped', () => {
    const p = makePartition({ features: without('AccessHypercallMsrs') });
    expect(p.readMsr(1, HV_X64_MSR_VP_INDEX)).toBe(1n);
  });
});

describe('Unknown MSRs', () => {
  it.each(
    [0x4000_0003n, 0x4000_0073n, 0x4000_00ffn, 0xc000_0080n, 0n, 0xffff_ffff_ffff_ffffn].map(
      (msr) => [`0x${msr.toString(16)}`, msr] as const,
    ),
  )('MSR %s is #GP on read and write', (_hex, msr) => {
    const p = makePartition();
    expect(catchGuestFault(() => p.readMsr(0, msr), 'GP').message).toMatch(/unknown MSR/);
    catchGuestFault(() => p.writeMsr(0, msr, 1n), 'GP');
  });

  it('registerMsr refuses a second handler for the same MSR', () => {
    const p = makePartition();
    expect(() =>
      p.registerMsr({ msr: HV_X64_MSR_VP_INDEX, name: 'dup', read: () => 0n, write: () => undefined }),
    ).toThrow(/already registered/);
  });

  it.each(
    titled(
      [
        { exposed: 'not exposed', features: ALL_CORE_FEATURES, readable: false },
        {
          exposed: 'exposed',
          features: [...ALL_CORE_FEATURES, 'AccessPartitionId' as const],
          readable: true,
        },
      ],
      (c) => `a package MSR gated by AccessPartitionId, ${c.exposed}`,
    ),
  )('%s', (_title, { features, readable }) => {
    const p = makePartition({ features });
    p.registerMsr({
      msr: 0x4000_0080n,
      name: 'TEST',
      gate: 'AccessPartitionId',
      read: () => 42n,
      write: () => {},
    });
    if (readable) expect(p.readMsr(0, 0x4000_0080n)).toBe(42n);
    else catchGuestFault(() => p.readMsr(0, 0x4000_0080n), 'GP');
  });
});
