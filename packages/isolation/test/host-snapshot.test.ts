import { HvStatus } from '@pvlab/hypercall';
import { SnapshotError } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { isolationExtension } from '../src/host/index.ts';
import { MODIFY, SELF, TestVm } from './fixtures.ts';

function partOf(vm: TestVm) {
  const part = isolationExtension({ sharedGpaBoundaryBits: 36 }).snapshotPart?.(vm.partition);
  if (part === undefined) throw new Error('no snapshot part');
  return part;
}

describe("snapshot part 'isolation' v1", () => {
  it('saves visible runs, the scrambler and counters; a restored VM continues identically', () => {
    const a = new TestVm();
    a.call({ callCode: MODIFY, repCount: 4 }, [SELF, 3n, 0x20n, 0x21n, 0x22n, 0x40n]);
    a.call({ callCode: MODIFY, repCount: 1 }, [SELF, 1n, 0x21n]);
    const saved = partOf(a).save();
    expect(saved).toMatchObject({
      sharedGpaBoundaryBits: 36,
      visible: [
        [0x20, 1, 3],
        [0x21, 1, 1],
        [0x22, 1, 3],
        [0x40, 1, 3],
      ],
      counters: { modifyCalls: 2, pagesConverted: 4 },
    });
    const b = new TestVm();
    partOf(b).restore(JSON.parse(JSON.stringify(saved)), 1);
    expect(b.state.visibility.toBytes()).toEqual(a.state.visibility.toBytes());
    // The scrambler continues the same stream: the next conversion gives the same garbage.
    for (const vm of [a, b])
      expect(vm.call({ callCode: MODIFY, repCount: 1 }, [SELF, 3n, 0x50n]).status).toBe(HvStatus.SUCCESS);
    expect(b.ram.read(0x50000n, 4096)).toEqual(a.ram.read(0x50000n, 4096));
  });

  it.each([
    [
      { sharedGpaBoundaryBits: 40, visible: [], scrambler: 1, counters: {} },
      /sharedGpaBoundaryBits = 40: this VM has 36/,
    ],
    [
      { sharedGpaBoundaryBits: 36, visible: [[0x20, 1, 2]], scrambler: 1, counters: {} },
      /visible\[0\] = \[32,1,2\]/,
    ],
    [{ sharedGpaBoundaryBits: 36, visible: [[250, 10, 3]], scrambler: 1, counters: {} }, /inside 256 pages/],
    [
      { sharedGpaBoundaryBits: 36, visible: [], scrambler: -1, counters: {} },
      /scrambler = -1: expected a u32/,
    ],
    [
      { sharedGpaBoundaryBits: 36, visible: [], scrambler: 1, counters: { modifyCalls: 1 } },
      /counters.queryCalls = missing/,
    ],
  ])('refuses %o before changing anything', (data, message) => {
    const vm = new TestVm();
    vm.setVisibility([3], 3);
    expect(() => partOf(vm).restore(data, 1)).toThrow(SnapshotError);
    expect(() => partOf(vm).restore(data, 1)).toThrow(message);
    expect(vm.state.visibility.visiblePages()).toEqual([3]);
  });

  it('refuses an unknown version by name', () => {
    expect(() => partOf(new TestVm()).restore({}, 2)).toThrow(
      /snapshot part 'isolation' has format version 2; this host reads version 1/,
    );
  });
});
