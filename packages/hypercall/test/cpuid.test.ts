import { describe, expect, it } from 'vitest';
import { PartitionFeatures } from '../src/host/cpuid.ts';
import { type CpuidRegister, HvFeature, type HvFeatureName } from '../src/wire/cpuid.ts';
import { makePartition, titled } from './fixtures.ts';

/** Spec 01 "CPUID bits relevant to these specs", one row per bit, transcribed. */
const SPEC_FEATURE_BITS: readonly [HvFeatureName, number, CpuidRegister, number][] = [
  ['AccessHypercallMsrs', 0x4000_0003, 'eax', 5],
  ['AccessSynicRegs', 0x4000_0003, 'eax', 2],
  ['AccessVpIndex', 0x4000_0003, 'eax', 6],
  ['CreatePartitions', 0x4000_0003, 'ebx', 0],
  ['AccessPartitionId', 0x4000_0003, 'ebx', 1],
  ['PostMessages', 0x4000_0003, 'ebx', 4],
  ['SignalEvents', 0x4000_0003, 'ebx', 5],
  ['Debugging', 0x4000_0003, 'ebx', 11],
  ['CpuManagement', 0x4000_0003, 'ebx', 12],
  ['EnableExtendedGvaRangesForFlushVaList', 0x4000_0003, 'ebx', 15],
  ['AccessVsm', 0x4000_0003, 'ebx', 16],
  ['AccessVpRegisters', 0x4000_0003, 'ebx', 17],
  ['FastHypercallOutput', 0x4000_0003, 'ebx', 19],
  ['EnableExtendedHypercalls', 0x4000_0003, 'ebx', 20],
  ['StartVirtualProcessor', 0x4000_0003, 'ebx', 21],
  ['Isolation', 0x4000_0003, 'ebx', 22],
  ['XmmFastHypercallInput', 0x4000_0003, 'edx', 4],
  ['XmmFastHypercallOutput', 0x4000_0003, 'edx', 15],
  ['ExtendedGvaRangesForFlush', 0x4000_0003, 'edx', 14],
  ['HypercallMsrLock', 0x4000_0003, 'edx', 18],
  ['CrossVtlFlush', 0x4000_0003, 'edx', 28],
  ['TranslateGvaFlags', 0x4000_0003, 'edx', 30],
  ['LocalTlbFlushRecommended', 0x4000_0004, 'eax', 1],
  ['RemoteTlbFlushRecommended', 0x4000_0004, 'eax', 2],
  ['DeprecateAutoEoi', 0x4000_0004, 'eax', 9],
  ['ClusterIpiRecommended', 0x4000_0004, 'eax', 10],
  ['ExProcessorMasksRecommended', 0x4000_0004, 'eax', 11],
  ['NestedRecommended', 0x4000_0004, 'eax', 12],
  ['SlatInUse', 0x4000_0006, 'eax', 3],
];

/** The registers that hold only feature bits (0x40000004 EBX is the spin-wait count). */
const FEATURE_REGISTERS: readonly [number, CpuidRegister][] = [
  [0x4000_0003, 'eax'],
  [0x4000_0003, 'ebx'],
  [0x4000_0003, 'ecx'],
  [0x4000_0003, 'edx'],
  [0x4000_0004, 'eax'],
  [0x4000_0004, 'ecx'],
  [0x4000_0004, 'edx'],
  [0x4000_0006, 'eax'],
  [0x4000_0006, 'ebx'],
  [0x4000_0006, 'ecx'],
  [0x4000_0006, 'edx'],
];

const hex = (n: number) => `0x${n.toString(16)}`;

describe('CPUID feature bits — each lands in its leaf, register and bit, and nowhere else', () => {
  it.each(
    titled(
      SPEC_FEATURE_BITS.map(([name, leaf, register, bit]) => ({
        name,
        leaf: hex(leaf),
        l: leaf,
        register,
        bit,
      })),
      (c) => `${c.name}: ${c.leaf} ${c.register} bit ${c.bit}`,
    ),
  )('%s', (_title, { name, l, register, bit }) => {
    const p = makePartition({ features: [name] });
    for (const [leaf, reg] of FEATURE_REGISTERS) {
      const expected = leaf === l && reg === register ? 2 ** bit : 0;
      expect({ leaf: hex(leaf), reg, value: p.cpuid(leaf)[reg] }).toEqual({
        leaf: hex(leaf),
        reg,
        value: expected,
      });
    }
    expect(p.features.has(name)).toBe(true);
  });

  it('HvFeature models exactly the spec rows', () => {
    expect(Object.keys(HvFeature).sort()).toEqual(SPEC_FEATURE_BITS.map(([n]) => n).sort());
  });

  it('no feature exposed: every feature register reads 0', () => {
    const p = makePartition({ features: [] });
    for (const [leaf, reg] of FEATURE_REGISTERS) expect(p.cpuid(leaf)[reg]).toBe(0);
    expect(p.features.exposed()).toEqual([]);
  });

  it('several features combine in one register; exposed() lists them sorted', () => {
    const p = makePartition({ features: ['TranslateGvaFlags', 'XmmFastHypercallInput', 'CrossVtlFlush'] });
    expect(p.cpuid(0x4000_0003).edx).toBe(0x5000_0010);
    expect(p.features.exposed()).toEqual(['CrossVtlFlush', 'TranslateGvaFlags', 'XmmFastHypercallInput']);
  });
});

describe('CPUID fixed leaves', () => {
  it('0x40000000: EAX = max leaf (0x40000006), EBX-EDX = "Microsoft Hv"', () => {
    expect(makePartition().cpuid(0x4000_0000)).toEqual({
      eax: 0x4000_0006,
      ebx: 0x7263_694d,
      ecx: 0x666f_736f,
      edx: 0x7648_2074,
    });
  });

  it('0x40000001: EAX = 0x31237648 "Hv#1"', () => {
    expect(makePartition().cpuid(0x4000_0001)).toEqual({ eax: 0x3123_7648, ebx: 0, ecx: 0, edx: 0 });
  });

  it.each([0, 1, 0xfff, 0xffff_ffff])('0x40000004 EBX = spin-wait retry count %i', (count) => {
    expect(makePartition({ spinWaitRetryCount: count }).cpuid(0x4000_0004).ebx).toBe(count);
  });

  it.each([1, 2, 64])('0x40000005 EAX/EBX = max VPs / max LPs = %i vCPUs', (vcpus) => {
    const r = makePartition({ vcpus }).cpuid(0x4000_0005);
    expect([r.eax, r.ebx]).toEqual([vcpus, vcpus]);
  });

  it.each(
    titled(
      [0x4000_0007, 0x4000_000c, 0x4000_0100, 0x3fff_ffff].map((leaf) => ({ leaf, name: hex(leaf) })),
      (c) => `leaf ${c.name}, which pvlab does not report, reads as zeros`,
    ),
  )('%s', (_title, { leaf }) => {
    expect(makePartition().cpuid(leaf)).toEqual({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
  });

  it('an extra leaf (0x4000000C isolation config) is reported and raises the max leaf', () => {
    const f = new PartitionFeatures({
      exposed: [],
      spinWaitRetryCount: 0xfff,
      vcpus: 1,
      extraLeaves: new Map([[0x4000_000c, { eax: 1, ebx: 2, ecx: 3, edx: 4 }]]),
    });
    expect(f.cpuid(0x4000_0000).eax).toBe(0x4000_000c);
    expect(f.cpuid(0x4000_000c)).toEqual({ eax: 1, ebx: 2, ecx: 3, edx: 4 });
  });

  it('cpuid returns a copy: a caller cannot change the partition', () => {
    const p = makePartition();
    p.cpuid(0x4000_0001).eax = 0;
    expect(p.cpuid(0x4000_0001).eax).toBe(0x3123_7648);
  });
});
