import { describe, expect, it } from 'vitest';
import { SoftwareTlb } from '../src/host/tlb.ts';

function tlb() {
  const t = new SoftwareTlb();
  t.fill(0x1000n, 0xa000n, { addressSpace: 1n });
  t.fill(0x2000n, 0xb000n, { addressSpace: 1n });
  t.fill(0x1000n, 0xc000n, { addressSpace: 2n });
  t.fill(0x9000n, 0xd000n, { global: true });
  return t;
}

describe('SoftwareTlb', () => {
  it('looks translations up per address space, with the page offset; globals hit in every space', () => {
    const t = tlb();
    expect(t.lookup(0x1234n, 1n)).toBe(0xa234n);
    expect(t.lookup(0x1234n, 2n)).toBe(0xc234n);
    expect(t.lookup(0x1234n, 3n)).toBeUndefined();
    expect(t.lookup(0x9008n, 7n)).toBe(0xd008n);
    expect(t.size).toBe(4);
  });

  it('a space flush removes that space, and the globals unless NON_GLOBAL_MAPPINGS_ONLY', () => {
    const keep = tlb();
    expect(keep.flushSpace(1n, true)).toBe(2);
    expect(keep.lookup(0x1000n, 1n)).toBeUndefined();
    expect(keep.lookup(0x1000n, 2n)).toBe(0xc000n);
    expect(keep.lookup(0x9000n)).toBe(0xd000n);
    const drop = tlb();
    expect(drop.flushSpace(1n, false)).toBe(3);
    expect(drop.lookup(0x9000n)).toBeUndefined();
    expect(drop.lookup(0x1000n, 2n)).toBe(0xc000n);
  });

  it("flushSpace('all') removes every space", () => {
    const t = tlb();
    expect(t.flushSpace('all', true)).toBe(3);
    expect(t.entries()).toEqual([{ gva: 0x9000n, gpa: 0xd000n, addressSpace: 0n, global: true }]);
  });

  it('a range flush removes exactly the listed pages, global ones included', () => {
    const t = tlb();
    expect(t.flushRange(0x1000n, 1, 4096, 1n)).toBe(1);
    expect(t.lookup(0x1000n, 2n)).toBe(0xc000n);
    expect(t.lookup(0x2000n, 1n)).toBe(0xb000n);
    expect(t.flushRange(0x8000n, 2, 4096, 'all')).toBe(1);
    expect(t.lookup(0x9000n)).toBeUndefined();
    expect(t.flushRange(0n, 1, 2 * 1024 * 1024, 'all')).toBe(2);
    expect(t.size).toBe(0);
  });

  it('flushAll empties it', () => {
    const t = tlb();
    expect(t.flushAll()).toBe(4);
    expect(t.size).toBe(0);
  });
});
