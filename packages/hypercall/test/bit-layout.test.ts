import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { type BitFieldSpec, defineBitLayout, joinU64, splitU64 } from '../src/wire/bit-layout.ts';
import { HypercallControl } from '../src/wire/control.ts';
import { GuestOsIdOpenSource, HypercallMsr } from '../src/wire/msr.ts';
import { HypercallResult } from '../src/wire/result.ts';

const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });

/** Fields below bit 32, straddling it (the widest allowed, 53 bits) and above it, plus a RsvdZ bit. */
const Sample = defineBitLayout('Sample', [
  { name: 'Low5', lsb: 0, width: 5 },
  { name: 'Rz', lsb: 5, width: 1, kind: 'reserved-zero' },
  { name: 'Wide53', lsb: 6, width: 53 },
  { name: 'High5', lsb: 59, width: 5 },
] as const);

const Halves = defineBitLayout('Halves', [
  { name: 'Lo32', lsb: 0, width: 32 },
  { name: 'Hi32', lsb: 32, width: 32 },
] as const);

function spec(name: string, lsb: number, width: number): BitFieldSpec {
  return { name, lsb, width };
}

describe('defineBitLayout — declaration', () => {
  it.each<[string, BitFieldSpec[], RegExp]>([
    [
      'a gap (bit 32 uncovered)',
      [spec('A', 0, 32), spec('B', 33, 31)],
      /Bad: .*uncovered \(mask 0x100000000\)/,
    ],
    ['bits 63:53 uncovered', [spec('A', 0, 53)], /Bad: .*uncovered \(mask 0xffe0000000000000\)/],
    ['an overlap', [spec('A', 0, 33), spec('B', 32, 32)], /Bad\.B overlaps another field/],
    ['a field wider than 53 bits', [spec('A', 0, 54), spec('B', 54, 10)], /Bad\.A: bits 0\+54/],
    ['a zero-width field', [spec('A', 0, 0), spec('B', 0, 32), spec('C', 32, 32)], /Bad\.A: bits 0\+0/],
    ['a field past bit 63', [spec('A', 0, 32), spec('B', 32, 33)], /Bad\.B: bits 32\+33/],
    ['a negative lsb', [spec('A', -1, 33), spec('B', 32, 32)], /Bad\.A: bits -1\+33/],
  ])('refuses %s', (_case, fields, message) => {
    expect(() => defineBitLayout('Bad', fields)).toThrow(message);
  });

  it('reservedZeroMask is the union of the RsvdZ fields only', () => {
    expect(Sample.reservedZeroMask).toBe(0x20n);
    expect(HypercallMsr.reservedZeroMask).toBe(0n);
  });

  it('field(name) returns masks; an unknown name throws', () => {
    expect(Sample.field('Wide53').mask).toBe(((1n << 53n) - 1n) << 6n);
    expect(HypercallControl.field('RepStartIndex').mask).toBe(0x0fff_0000_0000_0000n);
    expect(() => Sample.field('Nope' as never)).toThrow(/Sample has no field Nope/);
  });
});

describe('defineBitLayout — encode', () => {
  it.each<[string, Record<string, number>, RegExp]>([
    ['a value one past the width', { Low5: 32 }, /Sample\.Low5 = 32 does not fit in 5 bits/],
    ['a negative value', { High5: -1 }, /Sample\.High5 = -1 does not fit/],
    ['a fraction', { Low5: 1.5 }, /Sample\.Low5 = 1\.5 does not fit/],
    ['2^53 in a 53-bit field', { Wide53: 2 ** 53 }, /Wide53 = 9007199254740992 does not fit in 53 bits/],
    ['a reserved field', { Rz: 1 }, /Sample has no value field Rz/],
    ['an unknown field', { Nope: 1 }, /Sample has no value field Nope/],
  ])('refuses %s with a RangeError', (_case, fields, message) => {
    expect(() => Sample.encode(fields as never)).toThrow(RangeError);
    expect(() => Sample.encode(fields as never)).toThrow(message);
  });

  it('places each field at its bit position; omitted and undefined fields are 0', () => {
    expect(Sample.encode({ Low5: 0x1f })).toBe(0x1fn);
    expect(Sample.encode({ Wide53: 1 })).toBe(0x40n);
    expect(Sample.encode({ Wide53: 2 ** 53 - 1 })).toBe(0x07ff_ffff_ffff_ffc0n);
    expect(Sample.encode({ High5: 0x1f })).toBe(0xf800_0000_0000_0000n);
    expect(Sample.encode({ High5: undefined } as never)).toBe(0n);
    expect(Halves.encode({ Lo32: 0xffff_ffff, Hi32: 0x8000_0001 })).toBe(0x8000_0001_ffff_ffffn);
  });

  it('decode reads 32-bit fields as unsigned', () => {
    expect(Halves.decode(0xffff_ffff_ffff_ffffn)).toEqual({ Lo32: 0xffff_ffff, Hi32: 0xffff_ffff });
    expect(Sample.decode(0xffff_ffff_ffff_ffffn)).toEqual({ Low5: 31, Wide53: 2 ** 53 - 1, High5: 31 });
  });
});

/** A random value for every value field of a layout. */
function fieldsOf(layout: { fields: readonly { name: string; width: number; kind: string }[] }) {
  const record: Record<string, fc.Arbitrary<number>> = {};
  for (const f of layout.fields) {
    if (f.kind === 'value') {
      record[f.name] = fc.bigInt({ min: 0n, max: (1n << BigInt(f.width)) - 1n }).map(Number);
    }
  }
  return fc.record(record);
}

const LAYOUTS = [
  ['HypercallControl', HypercallControl],
  ['HypercallResult', HypercallResult],
  ['HV_X64_MSR_HYPERCALL', HypercallMsr],
  ['GUEST_OS_ID', GuestOsIdOpenSource],
  ['Sample', Sample],
  ['Halves', Halves],
] as const;

describe('defineBitLayout — properties', () => {
  for (const [name, layout] of LAYOUTS) {
    test.prop([fieldsOf(layout)], { numRuns: 100 })(`${name}: decode(encode(fields)) == fields`, (fields) => {
      const encoded = (layout.encode as (f: Record<string, number>) => bigint)(fields);
      expect(encoded >= 0n && encoded <= 0xffff_ffff_ffff_ffffn).toBe(true);
      expect(layout.decode(encoded)).toEqual(fields);
      expect(layout.reservedZeroBits(encoded)).toBe(0n);
    });
  }

  // Layouts whose only reserved fields are RsvdZ: the value splits into fields + RsvdZ bits.
  for (const [name, layout] of [
    ['HypercallControl', HypercallControl],
    ['Sample', Sample],
    ['Halves', Halves],
  ] as const) {
    test.prop([u64], { numRuns: 100 })(`${name}: encode(decode(v)) | reservedZeroBits(v) == v`, (v) => {
      const fields = layout.decode(v) as Record<string, number>;
      expect(
        (layout.encode as (f: Record<string, number>) => bigint)(fields) | layout.reservedZeroBits(v),
      ).toBe(v);
    });
  }

  // Layouts with RsvdP / ignored ranges: re-encoding keeps exactly the value bits (hand-written masks).
  for (const [name, layout, valueMask] of [
    ['HV_X64_MSR_HYPERCALL (RsvdP 11:2 dropped)', HypercallMsr, 0xffff_ffff_ffff_f003n],
    ['HypercallResult (31:16 and 63:44 dropped)', HypercallResult, 0x0000_0fff_0000_ffffn],
  ] as const) {
    test.prop([u64], { numRuns: 100 })(`${name}: encode(decode(v)) == v & value bits`, (v) => {
      const fields = layout.decode(v) as Record<string, number>;
      expect((layout.encode as (f: Record<string, number>) => bigint)(fields)).toBe(v & valueMask);
      expect(layout.reservedZeroBits(v)).toBe(0n);
    });
  }

  test.prop([u64], { numRuns: 100 })('joinU64(splitU64(v)) == v', (v) => {
    const [lo, hi] = splitU64(v);
    expect(lo).toBe(Number(v & 0xffff_ffffn));
    expect(hi).toBe(Number(v >> 32n));
    expect(joinU64(lo, hi)).toBe(v);
  });
});

describe('defineBitLayout — describe', () => {
  it.each<[string, bigint, string]>([
    ['all zero: value fields shown, zero reserved fields hidden', 0n, 'Low5=0x0 Wide53=0x0 High5=0x0'],
    [
      'a set 1-bit RsvdZ field is labelled with its bit and "!"',
      0x21n,
      'Low5=0x1 RsvdZ[5]=0x1! Wide53=0x0 High5=0x0',
    ],
    ['values in hex', 0xf800_0000_0000_0fc0n, 'Low5=0x0 Wide53=0x3f High5=0x1f'],
  ])('%s', (_case, value, text) => {
    expect(Sample.describe(value)).toBe(text);
  });
});
