import { fc, test } from '@fast-check/vitest';
import { GuestFault, HvStatus } from '@pvlab/hypercall';
import { describe, expect } from 'vitest';
import { HostAccessError, IsolationFault } from '../src/index.ts';
import { BOUNDARY, MODIFY, OUTPUT_GPA, QUERY, RAM_BYTES, RAM_PAGES, SELF, TestVm } from './fixtures.ts';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const KNOWN: ReadonlySet<number> = new Set([
  HvStatus.SUCCESS,
  HvStatus.ACCESS_DENIED,
  HvStatus.INVALID_PARAMETER,
  HvStatus.OPERATION_DENIED,
  HvStatus.INVALID_HYPERCALL_INPUT,
  HvStatus.INVALID_ALIGNMENT,
]);

/** PFNs mostly in RAM, sometimes just past it or anything. */
const pfn = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: RAM_PAGES - 1 }).map(BigInt), weight: 6 },
  { arbitrary: fc.integer({ min: RAM_PAGES, max: RAM_PAGES + 4 }).map(BigInt), weight: 1 },
  { arbitrary: u64, weight: 1 },
);
const partitionId = fc.oneof({ arbitrary: fc.constant(SELF), weight: 5 }, { arbitrary: u64, weight: 1 });
const flags = fc.oneof(
  { arbitrary: fc.constantFrom(0n, 1n, 2n, 3n), weight: 5 },
  { arbitrary: u64, weight: 1 },
);
const call = fc.record({
  code: fc.constantFrom(MODIFY, QUERY),
  partitionId,
  flags,
  pfns: fc.array(pfn, { minLength: 0, maxLength: 12 }),
  repStart: fc.integer({ min: 0, max: 12 }),
  extraRepCount: fc.integer({ min: 0, max: 2 }),
  fast: fc.boolean(),
  maxReps: fc.integer({ min: 1, max: 5 }),
  readOnly: fc.constantFrom('accept' as const, 'refuse' as const),
});

describe('guest input never throws in the host (0x00DB, 0x011C)', () => {
  test.prop([call], { numRuns: 300 })('a status the spec names; failures change nothing', (c) => {
    const vm = new TestVm({ maxRepsPerCall: c.maxReps, readOnlyVisibility: c.readOnly });
    const before = vm.state.visibility.toBytes();
    const header = c.code === MODIFY ? [c.partitionId, c.flags] : [c.partitionId];
    const repCount = c.pfns.length + c.extraRepCount;
    const r = vm.call({ callCode: c.code, repCount, repStartIndex: c.repStart, fast: c.fast }, [
      ...header,
      ...c.pfns,
    ]);
    expect(KNOWN.has(r.status)).toBe(true);
    if (r.status === HvStatus.SUCCESS) {
      expect(r.reps).toBeGreaterThan(c.repStart);
      expect(r.reps).toBeLessThanOrEqual(Math.min(repCount, c.repStart + c.maxReps));
      for (let i = c.repStart; i < r.reps; i++) {
        const p = c.pfns[i] ?? 0n; // elements past the list read as zeros (the rest of the page)
        if (c.code === MODIFY) expect(vm.state.visibility.get(Number(p))).toBe(Number(c.flags));
        else
          expect(vm.ram.readU64(OUTPUT_GPA + BigInt(8 * i))).toBe(BigInt(vm.state.visibility.get(Number(p))));
      }
    } else if (c.code === MODIFY) {
      expect(vm.state.visibility.toBytes()).toEqual(before);
    }
  });
});

/** A visibility map over the first 8 pages, the rest private. */
const visibilities = fc.array(fc.constantFrom(0, 1, 3), { minLength: 8, maxLength: 8 });
/** GPAs near the interesting edges: low RAM, RAM's end, the alias window and past it. */
const gpa = fc.oneof(
  fc.bigInt({ min: 0n, max: 0x9000n }),
  fc.bigInt({ min: BigInt(RAM_BYTES) - 0x2000n, max: BigInt(RAM_BYTES) + 0x1000n }),
  fc.bigInt({ min: BOUNDARY - 0x1000n, max: BOUNDARY + 0x9000n }),
  fc.bigInt({ min: BOUNDARY + BigInt(RAM_BYTES) - 0x2000n, max: BOUNDARY + BigInt(RAM_BYTES) + 0x1000n }),
  u64,
);
const length = fc.integer({ min: 0, max: 9000 });

/** The rule, stated independently: every page the access touches, seen from `who`. */
function allowed(
  vis: (pfn: number) => number,
  who: 'guest' | 'host',
  access: 'read' | 'write',
  g: bigint,
  n: number,
): boolean {
  const shared = g >= BOUNDARY;
  const ram = shared ? g - BOUNDARY : g;
  if (ram + BigInt(n) > BigInt(RAM_BYTES)) return false;
  if (who === 'host' && !shared) return false;
  for (let off = 0n; off < BigInt(n); off += 1n) {
    const v = vis(Number((ram + off) >> 12n));
    if (who === 'guest' && (v === 0) === shared) return false;
    if (who === 'host' && (v === 0 || (access === 'write' && v !== 3))) return false;
  }
  return true;
}

describe('accessors: random GPAs give data or the documented error only', () => {
  test.prop([visibilities, gpa, length, fc.constantFrom('read' as const, 'write' as const)], {
    numRuns: 400,
  })(
    'IsolatedGuestMemory: data, an IsolationFault or a MEMORY GuestFault — exactly as the rule says',
    (vis, g, n, access) => {
      const vm = new TestVm();
      for (const [pfn, v] of vis.entries()) vm.setVisibility([pfn], v as 0 | 1 | 3);
      const mem = vm.state.guestMemory;
      const expectOk = allowed((p) => vm.state.visibility.get(p), 'guest', access, g, n);
      try {
        if (access === 'read') expect(mem.read(g, n)).toHaveLength(n);
        else mem.write(g, new Uint8Array(n));
        expect(expectOk).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(GuestFault);
        expect((e as GuestFault).vector).toBe('MEMORY');
        expect(expectOk).toBe(false);
      }
    },
  );

  test.prop([visibilities, gpa, length, fc.constantFrom('read' as const, 'write' as const)], {
    numRuns: 400,
  })('HostMemoryView: data or a HostAccessError — exactly as the rule says', (vis, g, n, access) => {
    const vm = new TestVm();
    for (const [pfn, v] of vis.entries()) vm.setVisibility([pfn], v as 0 | 1 | 3);
    const host = vm.state.hostMemory;
    const expectOk = allowed((p) => vm.state.visibility.get(p), 'host', access, g, n);
    expect(host.allows(g, n, access)).toBe(expectOk);
    try {
      if (access === 'read') expect(host.read(g, n)).toHaveLength(n);
      else host.write(g, new Uint8Array(n));
      expect(expectOk).toBe(true);
    } catch (e) {
      expect(e).toBeInstanceOf(HostAccessError);
      expect(e).not.toBeInstanceOf(IsolationFault);
      expect(expectOk).toBe(false);
      expect((e as Error).message).not.toContain('\n');
    }
  });
});
