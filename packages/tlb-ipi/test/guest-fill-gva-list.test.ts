import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { fillGvaList, gvaListLength, HV_TLB_FLUSH_UNIT } from '../src/guest/index.ts';
import { decodeGvaRange } from '../src/index.ts';

describe('fillGvaList (Linux fill_gva_list, spec 02 rule 3)', () => {
  it('HV_TLB_FLUSH_UNIT is 4096 pages = 16 MiB', () => {
    expect(HV_TLB_FLUSH_UNIT).toBe(16n * 1024n * 1024n);
  });

  it('an empty or inverted range still names the start page once (the do-while)', () => {
    expect(fillGvaList(0x5123n, 0x5123n)).toEqual([0x5000n]);
    expect(fillGvaList(0x9000n, 0x5000n)).toEqual([0x9000n]);
  });

  it('an unaligned start counts pages from the byte distance, as Linux does', () => {
    // 0x1800..0x2800 is 4 KiB long: one page from 0x1000, although the range touches 0x2000.
    expect(fillGvaList(0x1800n, 0x2800n)).toEqual([0x1000n]);
  });

  test.prop([fc.bigInt({ min: 0n, max: (1n << 47n) / 4096n }), fc.integer({ min: 1, max: 5 * 4096 + 7 })])(
    'page-aligned ranges: the entries tile [start, end) in order, each ≤ 4096 pages, ⌈pages/4096⌉ of them',
    (startPage, pages) => {
      const start = startPage * 4096n;
      const end = start + BigInt(pages) * 4096n;
      const entries = fillGvaList(start, end);
      expect(entries).toHaveLength(Math.ceil(pages / 4096));
      expect(gvaListLength(start, end)).toBe(entries.length);
      let cur = start;
      for (const e of entries) {
        const r = decodeGvaRange(e, false)!;
        expect(r.gva).toBe(cur);
        expect(r.pages).toBeLessThanOrEqual(4096);
        cur += BigInt(r.pages) * 4096n;
      }
      expect(cur).toBe(end);
    },
  );
});
