import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  readSparseVpSet,
  readVpSetHeader,
  sparseVpSetHas,
  VpIndexSet,
  vpSetBytes,
  writeAllVpSet,
  writeSparseVpSet,
} from '../src/index.ts';
import { HV_MAX_VP_INDEX, HvGenericSetFormat, popcount64 } from '../src/wire/vp-set.ts';

const bytes = (view: DataView, n: number) => [...new Uint8Array(view.buffer, view.byteOffset, n)];
const u64le = (v: bigint) => Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));

describe('HV_VP_SET', () => {
  it('TLFS example {0, 5, 130} ⇄ Format 0, ValidBanksMask 0x5, banks [0x21, 0x4]', () => {
    const view = new DataView(new ArrayBuffer(64));
    const banks = writeSparseVpSet(view, 0, VpIndexSet.of(0, 5, 130));
    expect(banks).toBe(2);
    expect(bytes(view, vpSetBytes(2))).toEqual([
      ...u64le(0n),
      ...u64le(0x5n),
      ...u64le(0x21n),
      ...u64le(0x4n),
    ]);
    const header = readVpSetHeader(view, 0);
    expect(header).toEqual({ format: 0n, validBanksMask: 0x5n, banks: 2 });
    expect(readSparseVpSet(view, 0, header.validBanksMask, new VpIndexSet()).toArray()).toEqual([0, 5, 130]);
  });

  it("'dense' layout writes every bank up to the highest, empty ones included (Linux cpumask_to_vpset)", () => {
    const view = new DataView(new ArrayBuffer(64));
    expect(writeSparseVpSet(view, 0, VpIndexSet.of(0, 5, 130), 'dense')).toBe(3);
    expect(bytes(view, vpSetBytes(3))).toEqual([
      ...u64le(0n),
      ...u64le(0x7n),
      ...u64le(0x21n),
      ...u64le(0n),
      ...u64le(0x4n),
    ]);
  });

  it('an empty set: no bank when compact, one all-zero bank when dense (as Linux sends it)', () => {
    const view = new DataView(new ArrayBuffer(64));
    expect(writeSparseVpSet(view, 0, new VpIndexSet())).toBe(0);
    expect(readVpSetHeader(view, 0)).toEqual({ format: 0n, validBanksMask: 0n, banks: 0 });
    expect(writeSparseVpSet(view, 0, new VpIndexSet(), 'dense')).toBe(1);
    expect(bytes(view, 24)).toEqual([...u64le(0n), ...u64le(1n), ...u64le(0n)]);
  });

  it('HV_GENERIC_SET_ALL is Format 1 with no banks', () => {
    const view = new DataView(new ArrayBuffer(16));
    expect(writeAllVpSet(view, 0)).toBe(0);
    expect(readVpSetHeader(view, 0)).toEqual({
      format: BigInt(HvGenericSetFormat.ALL),
      validBanksMask: 0n,
      banks: 0,
    });
  });

  it('4096 VPs: 64 full banks, VP 4095 in bank 63', () => {
    const set = new VpIndexSet();
    for (let vp = 0; vp <= HV_MAX_VP_INDEX; vp++) set.add(vp);
    const view = new DataView(new ArrayBuffer(vpSetBytes(64)));
    expect(writeSparseVpSet(view, 0, set)).toBe(64);
    expect(readVpSetHeader(view, 0).validBanksMask).toBe(0xffff_ffff_ffff_ffffn);
    expect(view.getBigUint64(vpSetBytes(63), true)).toBe(0xffff_ffff_ffff_ffffn);
    expect(set.size).toBe(4096);
    expect(set.highest()).toBe(4095);
  });

  it('finds a VP without decoding: element = popcount(mask & ((1 << bank) − 1))', () => {
    const view = new DataView(new ArrayBuffer(64));
    writeSparseVpSet(view, 0, VpIndexSet.of(2, 65, 4000));
    const { validBanksMask } = readVpSetHeader(view, 0);
    for (const vp of [2, 65, 4000]) expect(sparseVpSetHas(view, 0, validBanksMask, vp)).toBe(true);
    for (const vp of [0, 3, 64, 66, 130, 4095, 5000])
      expect(sparseVpSetHas(view, 0, validBanksMask, vp)).toBe(false);
  });

  it('refuses VP indexes outside 0..4095', () => {
    expect(() => VpIndexSet.of(4096)).toThrow('VP index 4096 is outside an HV_VP_SET (0..4095)');
    expect(() => VpIndexSet.of(-1)).toThrow(RangeError);
    expect(new VpIndexSet().has(4096)).toBe(false);
  });

  it('popcount64 counts banks', () => {
    expect(popcount64(0n)).toBe(0);
    expect(popcount64(0x5n)).toBe(2);
    expect(popcount64(0xffff_ffff_ffff_ffffn)).toBe(64);
    expect(popcount64(0x8000_0000_0000_0001n)).toBe(2);
  });

  const vpSets = fc.uniqueArray(fc.integer({ min: 0, max: HV_MAX_VP_INDEX }), { maxLength: 300 });

  test.prop([vpSets, fc.constantFrom('compact' as const, 'dense' as const)])(
    'decode(encode(set)) == set in both layouts',
    (vps, layout) => {
      const view = new DataView(new ArrayBuffer(vpSetBytes(64)));
      const banks = writeSparseVpSet(view, 0, VpIndexSet.of(...vps), layout);
      const header = readVpSetHeader(view, 0);
      expect(header.banks).toBe(banks);
      expect(readSparseVpSet(view, 0, header.validBanksMask, new VpIndexSet()).toArray()).toEqual(
        [...vps].sort((a, b) => a - b),
      );
      for (const vp of vps) expect(sparseVpSetHas(view, 0, header.validBanksMask, vp)).toBe(true);
    },
  );

  test.prop([
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 64 }),
  ])('random headers and banks never throw when read within the banks present', (mask, banks) => {
    const view = new DataView(new ArrayBuffer(vpSetBytes(64)));
    view.setBigUint64(8, mask, true);
    for (const [i, b] of banks.entries()) view.setBigUint64(16 + 8 * i, b, true);
    const header = readVpSetHeader(view, 0);
    const set = readSparseVpSet(view, 0, header.validBanksMask, new VpIndexSet());
    expect(set.size).toBeLessThanOrEqual(4096);
  });
});
