import { describe, expect, it } from 'vitest';
import { joinU64 } from '../src/wire/bit-layout.ts';
import {
  decodeHypercallControl,
  decodeHypercallControlWords,
  encodeHypercallControl,
  HV_HYPERCALL_REFUSED_WORDS,
  HV_HYPERCALL_REP_MAX,
  HV_HYPERCALL_RSVD_MASK,
  HypercallControl,
  type HypercallControlInput,
} from '../src/wire/control.ts';
import { decodeHypercallResult, encodeHypercallResult, HypercallResult } from '../src/wire/result.ts';

// Every expected value below is computed by hand from the spec 01 tables, not by the codec.

describe('Hypercall input value (control) — spec 01 "Input value"', () => {
  it.each<[string, HypercallControlInput, bigint]>([
    ['CallCode is bits 15:0', { callCode: 0xffff }, 0x0000_0000_0000_ffffn],
    ['Fast is bit 16', { callCode: 0, fast: true }, 0x0000_0000_0001_0000n],
    [
      'VariableHeaderSize is bits 26:17 (1 QWORD)',
      { callCode: 0, variableHeaderSize: 1 },
      0x0000_0000_0002_0000n,
    ],
    [
      'VariableHeaderSize is 10 bits (max 0x3FF)',
      { callCode: 0, variableHeaderSize: 0x3ff },
      0x0000_0000_07fe_0000n,
    ],
    ['Nested is bit 31', { callCode: 0, nested: true }, 0x0000_0000_8000_0000n],
    ['RepCount is bits 43:32', { callCode: 0, repCount: 1 }, 0x0000_0001_0000_0000n],
    ['RepCount is 12 bits (max 4095)', { callCode: 0, repCount: 0xfff }, 0x0000_0fff_0000_0000n],
    ['RepStartIndex is bits 59:48', { callCode: 0, repStartIndex: 1 }, 0x0001_0000_0000_0000n],
    ['RepStartIndex is 12 bits', { callCode: 0, repStartIndex: 0xfff }, 0x0fff_0000_0000_0000n],
    [
      'CallCode 0x0003 + Fast + VariableHeaderSize 3 + RepCount 5 + RepStartIndex 2',
      { callCode: 0x0003, fast: true, variableHeaderSize: 3, repCount: 5, repStartIndex: 2 },
      0x0002_0005_0007_0003n,
    ],
  ])('%s', (_rule, fields, value) => {
    expect(encodeHypercallControl(fields)).toBe(value);
    expect(decodeHypercallControl(value)).toEqual({
      callCode: fields.callCode,
      fast: fields.fast ?? false,
      variableHeaderSize: fields.variableHeaderSize ?? 0,
      nested: fields.nested ?? false,
      repCount: fields.repCount ?? 0,
      repStartIndex: fields.repStartIndex ?? 0,
      reservedBits: 0n,
    });
  });

  it('"Reserved mask without bit 31 = 0xF000_F000_7800_0000"', () => {
    expect(HV_HYPERCALL_RSVD_MASK).toBe(0xf000_f000_7800_0000n);
    expect(HypercallControl.reservedZeroMask).toBe(0xf000_f000_7800_0000n);
    expect(HypercallControl.reservedZeroBits(0xffff_ffff_ffff_ffffn)).toBe(0xf000_f000_7800_0000n);
    expect(HV_HYPERCALL_REP_MAX).toBe(4095);
  });

  it('"KVM treats bit 31 as reserved too (0xF000_F000_F800_0000)": the refused bits, as u32 halves', () => {
    expect(joinU64(...HV_HYPERCALL_REFUSED_WORDS)).toBe(0xf000_f000_f800_0000n);
    expect(HV_HYPERCALL_REFUSED_WORDS).toEqual([0xf800_0000, 0xf000_f000]);
  });

  it.each([27n, 28n, 29n, 30n, 44n, 45n, 46n, 47n, 60n, 61n, 62n, 63n])(
    'RsvdZ bit %i is reported by reservedZeroBits and decode',
    (bit) => {
      const value = 0x0008n | (1n << bit);
      expect(HypercallControl.reservedZeroBits(value)).toBe(1n << bit);
      expect(decodeHypercallControl(value).reservedBits).toBe(1n << bit);
      expect(decodeHypercallControl(value).callCode).toBe(0x0008);
    },
  );

  it('decodeHypercallControlWords decodes the u32 halves as decodeHypercallControl decodes the value', () => {
    for (const value of [0x0002_0005_0007_0003n, 0x0008n | (1n << 63n) | (1n << 27n), 0x8000_0000n, 0n]) {
      const lo = Number(value & 0xffff_ffffn);
      const hi = Number(value >> 32n);
      expect(decodeHypercallControlWords(lo, hi)).toEqual(decodeHypercallControl(value));
    }
    expect(decodeHypercallControlWords(0x0007_0003, 0x0002_0005)).toMatchObject({
      callCode: 3,
      fast: true,
      variableHeaderSize: 3,
      repCount: 5,
      repStartIndex: 2,
    });
  });

  it('bit 31 is Nested, not part of the TLFS reserved mask', () => {
    expect(HypercallControl.reservedZeroBits(0x8000_0000n)).toBe(0n);
    expect(decodeHypercallControl(0x8000_0000n).nested).toBe(true);
  });

  it.each<[string, HypercallControlInput]>([
    ['CallCode 0x10000 (17 bits)', { callCode: 0x1_0000 }],
    ['negative CallCode', { callCode: -1 }],
    ['VariableHeaderSize 1024 (11 bits)', { callCode: 0, variableHeaderSize: 1024 }],
    ['RepCount 4096 (13 bits)', { callCode: 0, repCount: 4096 }],
    ['RepStartIndex 4096 (13 bits)', { callCode: 0, repStartIndex: 4096 }],
    ['fractional RepCount', { callCode: 0, repCount: 1.5 }],
  ])('encode refuses %s with a RangeError', (_case, fields) => {
    expect(() => encodeHypercallControl(fields)).toThrow(RangeError);
  });

  it('describe renders every value field and flags set RsvdZ bits with "!"', () => {
    expect(HypercallControl.describe(0x0002_0005_0007_0003n)).toBe(
      'CallCode=0x3 Fast=0x1 VariableHeaderSize=0x3 Nested=0x0 RepCount=0x5 RepStartIndex=0x2',
    );
    expect(HypercallControl.describe(0xf000_f000_7800_0008n)).toBe(
      'CallCode=0x8 Fast=0x0 VariableHeaderSize=0x0 RsvdZ[30:27]=0xf! Nested=0x0 RepCount=0x0 ' +
        'RsvdZ[47:44]=0xf! RepStartIndex=0x0 RsvdZ[63:60]=0xf!',
    );
  });
});

describe('Hypercall result value (RAX) — spec 01 "Result value"', () => {
  it.each<[string, number, number, bigint]>([
    ['HV_STATUS is bits 15:0', 0x0003, 0, 0x0000_0000_0000_0003n],
    ['HV_STATUS uses all 16 bits', 0xffff, 0, 0x0000_0000_0000_ffffn],
    ['RepsCompleted is bits 43:32', 0x0000, 5, 0x0000_0005_0000_0000n],
    ['RepsCompleted is 12 bits', 0x0004, 0xfff, 0x0000_0fff_0000_0004n],
  ])('%s', (_rule, status, reps, value) => {
    expect(encodeHypercallResult(status, reps)).toBe(value);
    expect(decodeHypercallResult(value)).toEqual({ status, repsCompleted: reps });
  });

  it.each<[string, bigint, number, number]>([
    ['bits 31:16 reserved (caller ignores)', 0x0000_0000_ffff_0006n, 0x0006, 0],
    ['bits 63:44 reserved', 0xffff_f000_0000_0000n, 0x0000, 0],
    ['all reserved bits set around status 0x11 and 0x123 reps', 0xffff_f123_ffff_0011n, 0x0011, 0x123],
  ])('decode ignores reserved bits: %s', (_rule, value, status, reps) => {
    expect(decodeHypercallResult(value)).toEqual({ status, repsCompleted: reps });
  });

  it('has no RsvdZ bits (the caller ignores the reserved ranges)', () => {
    expect(HypercallResult.reservedZeroMask).toBe(0n);
    expect(HypercallResult.reservedZeroBits(0xffff_ffff_ffff_ffffn)).toBe(0n);
  });

  it('describe shows set reserved bits without the RsvdZ "!" mark', () => {
    expect(HypercallResult.describe(0xffff_0003_0000_0003n)).toBe(
      'Status=0x3 RepsCompleted=0x3 Rsvd[63:44]=0xffff0',
    );
  });
});
