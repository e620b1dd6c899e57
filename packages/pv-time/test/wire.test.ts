import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  decodeSmcccVersion,
  encodeSmcccVersion,
  PV_TIME_ST_DRAFT_V4,
  readStolenTimeRecord,
  SmcccFunction,
  SmcccFunctionIdLayout,
  SmcccReturnCode,
  StolenTimeRecord,
  smcccFunctionName,
  smcccRegister,
  smcccReturnCodeName,
  smcccSigned,
  writeStolenTimeRecord,
} from '../src/index.ts';
import {
  decodeSmcccFunctionId,
  describeSmcccFunctionIdBits,
  encodeSmcccFunctionId,
  SmcccOwner,
} from '../src/wire/function-id.ts';
import {
  SMCCC_RET_INVALID_PARAMETER,
  SMCCC_RET_NOT_REQUIRED,
  SMCCC_RET_NOT_SUPPORTED,
  SMCCC_RET_SUCCESS,
} from '../src/wire/return-codes.ts';
import { isStolenTimeRecordAligned } from '../src/wire/stolen-time-record.ts';
import { SMCCC_VERSION_1_0, smcccVersionAtLeast } from '../src/wire/version.ts';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

describe('SMCCC function ID (spec 06: fast 31, convention 30, owner 29:24, 23:16, number 15:0)', () => {
  it.each([
    ['SMCCC_VERSION', 0x8000_0000, { fast: true, convention: 32, owner: SmcccOwner.ARCH, functionNumber: 0 }],
    ['SMCCC_ARCH_FEATURES', 0x8000_0001, { fast: true, convention: 32, owner: 0, functionNumber: 1 }],
    ['SMCCC_ARCH_SOC_ID', 0x8000_0002, { fast: true, convention: 32, owner: 0, functionNumber: 2 }],
    [
      'SMCCC_ARCH_WORKAROUND_1',
      0x8000_8000,
      { fast: true, convention: 32, owner: 0, functionNumber: 0x8000 },
    ],
    [
      'SMCCC_ARCH_WORKAROUND_2',
      0x8000_7fff,
      { fast: true, convention: 32, owner: 0, functionNumber: 0x7fff },
    ],
    [
      'SMCCC_ARCH_WORKAROUND_3',
      0x8000_3fff,
      { fast: true, convention: 32, owner: 0, functionNumber: 0x3fff },
    ],
    [
      'PV_TIME_FEATURES',
      0xc500_0020,
      { fast: true, convention: 64, owner: SmcccOwner.STANDARD_HYPERVISOR, functionNumber: 0x20 },
    ],
    ['PV_TIME_ST', 0xc500_0021, { fast: true, convention: 64, owner: 5, functionNumber: 0x21 }],
  ] as const)('%s = %i ⇄ its fields', (name, id, fields) => {
    expect(SmcccFunction[name]).toBe(id);
    expect(decodeSmcccFunctionId(id)).toEqual({ ...fields, sveStateHint: false, reserved: 0 });
    expect(encodeSmcccFunctionId(fields)).toBe(id);
    expect(smcccFunctionName(id)).toBe(name);
  });

  it('the draft v4 PV_TIME_ST (0xC5000022) is fn 0x22 of the same owner, named as superseded', () => {
    expect(PV_TIME_ST_DRAFT_V4).toBe(0xc500_0022);
    expect(decodeSmcccFunctionId(PV_TIME_ST_DRAFT_V4).functionNumber).toBe(0x22);
    expect(smcccFunctionName(PV_TIME_ST_DRAFT_V4)).toBe('PV_TIME_ST (draft v4, superseded)');
    expect(Object.values(SmcccFunction)).not.toContain(PV_TIME_ST_DRAFT_V4);
  });

  it('rule 1: the SMC32 form of PV_TIME_FEATURES is 0x85000020, a different id', () => {
    const id = encodeSmcccFunctionId({ fast: true, convention: 32, owner: 5, functionNumber: 0x20 });
    expect(id).toBe(0x8500_0020);
    expect(smcccFunctionName(id)).toBe('unknown 0x85000020');
  });

  it('bit 16 is the SVE-state hint; bits 23:17 are RsvdZ; describe flags them', () => {
    expect(decodeSmcccFunctionId(0xc501_0020).sveStateHint).toBe(true);
    expect(decodeSmcccFunctionId(0xc5fe_0020).reserved).toBe(0x7f);
    expect(SmcccFunctionIdLayout.reservedZeroBits(0xc5fe_0020n)).toBe(0x00fe_0000n);
    expect(describeSmcccFunctionIdBits(0xc502_0021)).toContain('RsvdZ[23:17]=0x1!');
    expect(describeSmcccFunctionIdBits(0xc500_0021)).toBe(
      'FunctionNumber=0x21 SveStateHint=0x0 Owner=0x5 Convention=0x1 Fast=0x1',
    );
  });

  it.each([-1, 0x1_0000_0000, 1.5, Number.NaN])('%s is not a function id (RangeError)', (bad) => {
    expect(() => decodeSmcccFunctionId(bad)).toThrow(RangeError);
  });

  it('encode refuses a field that does not fit', () => {
    expect(() => encodeSmcccFunctionId({ fast: true, convention: 64, owner: 64, functionNumber: 0 })).toThrow(
      RangeError,
    );
    expect(() =>
      encodeSmcccFunctionId({ fast: true, convention: 64, owner: 5, functionNumber: 0x1_0000 }),
    ).toThrow(RangeError);
  });

  test.prop([u32])('decode then encode gives the id back when the reserved bits are clear', (id) => {
    const f = decodeSmcccFunctionId(id);
    expect(encodeSmcccFunctionId(f)).toBe((id & ~0x00fe_0000) >>> 0);
  });
});

describe('return codes (spec 06, rule 9: X0 sign-extended to 64 bits)', () => {
  it.each([
    ['SUCCESS', 0, SMCCC_RET_SUCCESS, 0x0000_0000_0000_0000n],
    ['NOT_SUPPORTED', -1, SMCCC_RET_NOT_SUPPORTED, 0xffff_ffff_ffff_ffffn],
    ['NOT_REQUIRED', -2, SMCCC_RET_NOT_REQUIRED, 0xffff_ffff_ffff_fffen],
    ['INVALID_PARAMETER', -3, SMCCC_RET_INVALID_PARAMETER, 0xffff_ffff_ffff_fffdn],
  ] as const)('%s = %i', (name, signed, constant, register) => {
    expect(SmcccReturnCode[name]).toBe(signed);
    expect(constant).toBe(register);
    expect(smcccRegister(signed)).toBe(register);
    expect(smcccRegister(BigInt(signed))).toBe(register);
    expect(smcccSigned(register)).toBe(BigInt(signed));
    expect(smcccReturnCodeName(register)).toBe(name);
  });

  it('a value that is not a code has no name', () => {
    expect(smcccReturnCodeName(0x4000_0000n)).toBeUndefined();
  });

  test.prop([u64])('smcccRegister ∘ smcccSigned is the identity on registers', (x0) => {
    expect(smcccRegister(smcccSigned(x0))).toBe(x0);
  });
});

describe('SMCCC version (major<<16 | minor)', () => {
  it.each([
    [1, 0, 0x10000n],
    [1, 1, 0x10001n],
    [1, 2, 0x10002n],
  ])('%i.%i = %s', (major, minor, value) => {
    expect(encodeSmcccVersion({ major, minor })).toBe(value);
    expect(decodeSmcccVersion(value)).toEqual({ major, minor });
  });

  it('NOT_SUPPORTED ⇒ v1.0 (spec 06 table)', () => {
    expect(decodeSmcccVersion(SMCCC_RET_NOT_SUPPORTED)).toEqual(SMCCC_VERSION_1_0);
  });

  it('only W0 counts (SMCCC_VERSION is SMC32)', () => {
    expect(decodeSmcccVersion(0xdead_0000_0001_0002n)).toEqual({ major: 1, minor: 2 });
  });

  it('refuses impossible versions', () => {
    expect(() => encodeSmcccVersion({ major: 0x8000, minor: 0 })).toThrow(RangeError);
    expect(() => encodeSmcccVersion({ major: 1, minor: 0x1_0000 })).toThrow(RangeError);
    expect(() => encodeSmcccVersion({ major: 0, minor: 1 })).toThrow(RangeError);
  });

  it('compares versions', () => {
    expect(smcccVersionAtLeast({ major: 1, minor: 1 }, { major: 1, minor: 1 })).toBe(true);
    expect(smcccVersionAtLeast({ major: 1, minor: 0 }, { major: 1, minor: 1 })).toBe(false);
    expect(smcccVersionAtLeast({ major: 2, minor: 0 }, { major: 1, minor: 9 })).toBe(true);
  });

  test.prop([u64])('decoding any X0 never throws and gives a 15-bit major, 16-bit minor', (x0) => {
    const v = decodeSmcccVersion(x0);
    expect(v.major).toBeLessThanOrEqual(0x7fff);
    expect(v.minor).toBeLessThanOrEqual(0xffff);
  });
});

describe('stolen-time record (64 bytes, 64-byte aligned, little-endian)', () => {
  const bytes = (view: DataView, n: number) => [...new Uint8Array(view.buffer, view.byteOffset, n)];

  it('layout: Revision @0 u32, Attributes @4 u32, StolenTime @8 u64, padding to 64', () => {
    expect(StolenTimeRecord).toMatchObject({
      revision: 0,
      attributes: 4,
      stolenTime: 8,
      meaningfulBytes: 16,
      bytes: 64,
      alignment: 64,
    });
  });

  it('revision 0, attributes 0, StolenTime 0x0123456789ABCDEF ⇄ its 64 bytes', () => {
    const view = new DataView(new ArrayBuffer(64));
    new Uint8Array(view.buffer).fill(0xaa); // padding must be rewritten as zero
    writeStolenTimeRecord(view, 0, { stolenTime: 0x0123_4567_89ab_cdefn });
    expect(bytes(view, 64)).toEqual([
      ...[0, 0, 0, 0],
      ...[0, 0, 0, 0],
      ...[0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01],
      ...new Array(48).fill(0),
    ]);
    expect(readStolenTimeRecord(view, 0)).toEqual({
      revision: 0,
      attributes: 0,
      stolenTime: 0x0123_4567_89ab_cdefn,
    });
  });

  it('a future revision and attributes read back as written (the guest must refuse them)', () => {
    const view = new DataView(new ArrayBuffer(128));
    writeStolenTimeRecord(view, 64, { revision: 1, attributes: 0x8000_0001, stolenTime: 5n });
    expect(bytes(new DataView(view.buffer, 64), 16)).toEqual([
      ...[1, 0, 0, 0],
      ...[1, 0, 0, 0x80],
      ...[5, 0, 0, 0, 0, 0, 0, 0],
    ]);
    expect(readStolenTimeRecord(view, 64)).toEqual({ revision: 1, attributes: 0x8000_0001, stolenTime: 5n });
  });

  it('refuses values that do not fit', () => {
    const view = new DataView(new ArrayBuffer(64));
    expect(() => writeStolenTimeRecord(view, 0, { revision: -1 })).toThrow(RangeError);
    expect(() => writeStolenTimeRecord(view, 0, { attributes: 2 ** 32 })).toThrow(RangeError);
    expect(() => writeStolenTimeRecord(view, 0, { stolenTime: 1n << 64n })).toThrow(RangeError);
  });

  it.each([
    [0n, true],
    [0x40n, true],
    [0x1000n, true],
    [0x20n, false],
    [0x41n, false],
    [0xffff_ffff_ffff_ffffn, false],
  ])('IPA %s aligned: %s', (ipa, aligned) => {
    expect(isStolenTimeRecordAligned(ipa)).toBe(aligned);
  });

  test.prop([u32, u32, u64])(
    'write then read round-trips; padding is zero',
    (revision, attributes, stolenTime) => {
      const view = new DataView(new ArrayBuffer(64));
      new Uint8Array(view.buffer).fill(0xff);
      writeStolenTimeRecord(view, 0, { revision, attributes, stolenTime });
      expect(readStolenTimeRecord(view, 0)).toEqual({ revision, attributes, stolenTime });
      expect(
        bytes(view, 64)
          .slice(16)
          .every((b) => b === 0),
      ).toBe(true);
    },
  );
});
