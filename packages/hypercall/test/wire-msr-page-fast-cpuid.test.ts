import { describe, expect, it } from 'vitest';
import { X64HypercallRegisters } from '../src/host/calling-convention.ts';
import {
  HV_INTERFACE_SIGNATURE,
  HV_SPIN_WAIT_NEVER_NOTIFY,
  HV_VENDOR_EBX,
  HV_VENDOR_ECX,
  HV_VENDOR_EDX,
  HvCpuidLeaf,
} from '../src/wire/cpuid.ts';
import {
  fastInputPairs,
  fastSlotName,
  HV_FAST_REGISTER_SLOTS,
  HV_HYPERCALL_MAX_XMM_REGISTERS,
  HV_XMM_FAST_BYTES,
  HV_XMM_FAST_SLOTS,
} from '../src/wire/fast.ts';
import {
  GuestOsIdOpenSource,
  HV_GUEST_OS_TYPE_LINUX,
  HV_X64_MSR_GUEST_OS_ID,
  HV_X64_MSR_HYPERCALL,
  HV_X64_MSR_VP_INDEX,
  HypercallMsr,
  linuxGuestOsId,
  linuxVersionCode,
} from '../src/wire/msr.ts';
import { HV_PAGE_SHIFT, HV_PAGE_SIZE, HV_PARAMETER_ALIGNMENT, hypercallPageCode } from '../src/wire/page.ts';

/** Little-endian u32 of four ASCII characters, computed independently of the code under test. */
const ascii32 = (s: string): number => Buffer.from(s, 'latin1').readUInt32LE(0);

describe('Synthetic MSR numbers — spec 01 "Synthetic MSRs / hypercall page"', () => {
  it.each<[string, bigint, bigint]>([
    ['GUEST_OS_ID', HV_X64_MSR_GUEST_OS_ID, 0x4000_0000n],
    ['HYPERCALL', HV_X64_MSR_HYPERCALL, 0x4000_0001n],
    ['VP_INDEX', HV_X64_MSR_VP_INDEX, 0x4000_0002n],
  ])('%s is MSR %s', (_name, msr, expected) => {
    expect(msr).toBe(expected);
  });
});

describe('HV_X64_MSR_HYPERCALL — "bit0 Enable, bit1 Locked, 11:2 reserved (preserve), 63:12 page GPFN"', () => {
  it.each<[string, Parameters<typeof HypercallMsr.encode>[0], bigint]>([
    ['Enable is bit 0', { Enable: 1 }, 0x1n],
    ['Locked is bit 1', { Locked: 1 }, 0x2n],
    ['GPFN is bits 63:12', { Gpfn: 1 }, 0x1000n],
    ['GPFN is 52 bits wide', { Gpfn: 2 ** 52 - 1 }, 0xffff_ffff_ffff_f000n],
    ['page 0x1000 enabled', { Enable: 1, Gpfn: 1 }, 0x1001n],
  ])('%s', (_rule, fields, value) => {
    expect(HypercallMsr.encode(fields)).toBe(value);
    expect(HypercallMsr.decode(value)).toEqual({ Enable: 0, Locked: 0, Gpfn: 0, ...fields });
  });

  it('11:2 is RsvdP: not a value field, not RsvdZ, named in describe', () => {
    expect(HypercallMsr.field('RsvdP').mask).toBe(0xffcn);
    expect(HypercallMsr.field('RsvdP').kind).toBe('reserved-preserve');
    expect(HypercallMsr.reservedZeroBits(0xffcn)).toBe(0n);
    expect(HypercallMsr.decode(0xffdn)).toEqual({ Enable: 1, Locked: 0, Gpfn: 0 });
    expect(HypercallMsr.describe(0x5ffdn)).toBe('Enable=0x1 Locked=0x0 RsvdP[11:2]=0x3ff Gpfn=0x5');
  });
});

describe('HV_X64_MSR_GUEST_OS_ID — open-source form', () => {
  it.each<[string, Parameters<typeof GuestOsIdOpenSource.encode>[0], bigint]>([
    ['15:0 build', { BuildNumber: 0xffff }, 0x0000_0000_0000_ffffn],
    ['47:16 version', { Version: 0xffff_ffff }, 0x0000_ffff_ffff_0000n],
    ['55:48 OS id', { OsId: 0xff }, 0x00ff_0000_0000_0000n],
    ['62:56 OS type', { OsType: 0x7f }, 0x7f00_0000_0000_0000n],
    ['bit63 = 1 (open source)', { OpenSource: 1 }, 0x8000_0000_0000_0000n],
  ])('%s', (_rule, fields, value) => {
    expect(GuestOsIdOpenSource.encode(fields)).toBe(value);
  });

  it('"1=Linux"', () => {
    expect(HV_GUEST_OS_TYPE_LINUX).toBe(1);
  });

  it.each<[string, number, bigint]>([
    ['kernel_version 0', 0, 0x8100n << 48n],
    ['Linux 6.12.0 (0x060C00)', 0x06_0c_00, 0x8100_0006_0c00_0000n],
    ['Linux 5.15.255 (0x050FFF)', 0x05_0f_ff, 0x8100_0005_0fff_0000n],
  ])('"Linux value = 0x8100 << 48 | kernel_version << 16": %s', (_case, version, value) => {
    expect(linuxGuestOsId(version)).toBe(value);
    expect(linuxGuestOsId(version)).toBe((0x8100n << 48n) | (BigInt(version) << 16n));
    expect(GuestOsIdOpenSource.decode(value)).toEqual({
      OpenSource: 1,
      OsType: 1,
      OsId: 0,
      Version: version,
      BuildNumber: 0,
    });
  });

  it.each<[string, [number, number, number], number]>([
    ['6.12.0', [6, 12, 0], 0x06_0c_00],
    ['5.15.167', [5, 15, 167], 0x05_0f_a7],
    ['5.4.300 clamps the patch level to 255 like KERNEL_VERSION', [5, 4, 300], 0x05_04_ff],
  ])('LINUX_VERSION_CODE of %s', (_case, [a, b, c], code) => {
    expect(linuxVersionCode(a, b, c)).toBe(code);
  });
});

describe('Hypercall page — spec 01 rules 14–15', () => {
  it.each<[string, 'intel' | 'amd', number[]]>([
    ['Intel: VMCALL 0F 01 C1 + RET C3', 'intel', [0x0f, 0x01, 0xc1, 0xc3]],
    ['AMD: VMMCALL 0F 01 D9 + RET C3', 'amd', [0x0f, 0x01, 0xd9, 0xc3]],
  ])('%s', (_case, vendor, bytes) => {
    expect([...hypercallPageCode(vendor)]).toEqual(bytes);
  });

  it('pages are 4 KiB and parameter lists 8-byte aligned (rules 4–5)', () => {
    expect(HV_PAGE_SIZE).toBe(4096);
    expect(HV_PAGE_SHIFT).toBe(12);
    expect(HV_PARAMETER_ALIGNMENT).toBe(8);
  });
});

describe('Fast slots — spec 01 rule 11 "RDX, R8, XMM0[63:0], XMM0[127:64], … XMM5[127:64]"', () => {
  it.each<[number, string]>([
    [0, 'RDX'],
    [1, 'R8'],
    [2, 'XMM0.lo'],
    [3, 'XMM0.hi'],
    [4, 'XMM1.lo'],
    [5, 'XMM1.hi'],
    [12, 'XMM5.lo'],
    [13, 'XMM5.hi'],
  ])('slot %i is %s', (slot, name) => {
    expect(fastSlotName(slot)).toBe(name);
  });

  it('"2 GPRs + 6 XMM = 7 register pairs = 112 bytes"', () => {
    expect(HV_FAST_REGISTER_SLOTS).toBe(2);
    expect(HV_HYPERCALL_MAX_XMM_REGISTERS).toBe(6);
    expect(HV_XMM_FAST_SLOTS).toBe(14);
    expect(HV_XMM_FAST_BYTES).toBe(112);
  });

  it.each<[number, number]>([
    [0, 0],
    [8, 1],
    [16, 1],
    [17, 2],
    [24, 2],
    [112, 7],
  ])('an input of %i bytes occupies %i register pairs', (bytes, pairs) => {
    expect(fastInputPairs(bytes)).toBe(pairs);
  });

  it('X64HypercallRegisters maps slot 0 to RDX, 1 to R8 and 2.. to XMM0.lo..XMM5.hi', () => {
    const regs = new X64HypercallRegisters();
    regs.loadSlots(Array.from({ length: 14 }, (_, i) => BigInt(i + 1) * 0x1111n));
    expect(regs.rdx).toBe(0x1111n);
    expect(regs.r8).toBe(0x2222n);
    expect([...regs.xmm]).toEqual(Array.from({ length: 12 }, (_, i) => BigInt(i + 3) * 0x1111n));
    expect(regs.inputGpa).toBe(0x1111n);
    expect(regs.outputGpa).toBe(0x2222n);
    expect(regs.fastSlotCount).toBe(14);
    regs.writeFastSlot(13, -1n);
    expect(regs.readFastSlot(13)).toBe(0xffff_ffff_ffff_ffffn);
  });
});

describe('CPUID constants — spec 01 "CPUID bits relevant to these specs"', () => {
  it('0x40000000 EBX-EDX = "Microsoft Hv"', () => {
    expect(HV_VENDOR_EBX).toBe(ascii32('Micr'));
    expect(HV_VENDOR_ECX).toBe(ascii32('osof'));
    expect(HV_VENDOR_EDX).toBe(ascii32('t Hv'));
    expect([HV_VENDOR_EBX, HV_VENDOR_ECX, HV_VENDOR_EDX]).toEqual([0x7263_694d, 0x666f_736f, 0x7648_2074]);
  });

  it('0x40000001 EAX = 0x31237648 "Hv#1"', () => {
    expect(HV_INTERFACE_SIGNATURE).toBe(0x3123_7648);
    expect(HV_INTERFACE_SIGNATURE).toBe(ascii32('Hv#1'));
  });

  it('0x40000004 EBX "0xFFFFFFFF = never notify"', () => {
    expect(HV_SPIN_WAIT_NEVER_NOTIFY).toBe(0xffff_ffff);
  });

  it('leaf numbers', () => {
    expect(HvCpuidLeaf).toEqual({
      VENDOR_AND_MAX: 0x4000_0000,
      INTERFACE: 0x4000_0001,
      VERSION: 0x4000_0002,
      FEATURES: 0x4000_0003,
      ENLIGHTENMENT_INFO: 0x4000_0004,
      IMPLEMENTATION_LIMITS: 0x4000_0005,
      HARDWARE_FEATURES: 0x4000_0006,
      ISOLATION_CONFIG: 0x4000_000c,
    });
  });
});
