/** The typed ports between packages: extension keys, the host-memory port, the per-VP TLB lock. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ExtensionKey, HOST_MEMORY, type HostMemoryAccess } from '../src/host/ports.ts';
import { makePartition } from './fixtures.ts';

describe('extension keys', () => {
  it('keep one state per key, typed, and compare by name', () => {
    const partition = makePartition();
    const key = new ExtensionKey<{ readonly hits: number }>('demo');
    expect(partition.extensionState(key)).toBeUndefined();
    const state = { hits: 3 };
    partition.setExtensionState(key, state);
    expectTypeOf(partition.extensionState(key)).toEqualTypeOf<{ readonly hits: number } | undefined>();
    expect(partition.extensionState(key)).toBe(state);
    // A second copy of the package's key (its source and its bundled dist) reaches the same state.
    expect(partition.extensionState(new ExtensionKey<{ readonly hits: number }>('demo'))).toBe(state);
    expect(() => partition.setExtensionState(key, { hits: 4 })).toThrow(
      /package demo already has host state in this partition/,
    );
  });

  it('the host-memory port is absent in an ordinary partition', () => {
    expect(makePartition().extensionState(HOST_MEMORY)).toBeUndefined();
    expectTypeOf<{ boundary: bigint }>().not.toMatchTypeOf<HostMemoryAccess>();
  });
});

describe('the per-VP TLB lock', () => {
  it('setTlbLocked keeps the lock next to the suspension, returns the previous value and counts locked VPs', () => {
    const partition = makePartition({ vcpus: 3 });
    expect(partition.vps.map((v) => v.tlbLocked)).toEqual([false, false, false]);
    expect(partition.lockedTlbs).toBe(0);
    expect(partition.setTlbLocked(1, true)).toBe(false);
    expect(partition.setTlbLocked(1, true)).toBe(true);
    expect(partition.setTlbLocked(2, true)).toBe(false);
    expect(partition.vps.map((v) => v.tlbLocked)).toEqual([false, true, true]);
    expect(partition.lockedTlbs).toBe(2);
    expect(partition.setTlbLocked(1, false)).toBe(true);
    expect(partition.setTlbLocked(1, false)).toBe(false);
    expect(partition.lockedTlbs).toBe(1);
    // Locking is not resuming: nobody was suspended, nobody is released.
    expect(partition.suspendedVps()).toEqual([]);
  });

  it('a VP outside the partition is a RangeError naming the valid range', () => {
    expect(() => makePartition({ vcpus: 3 }).setTlbLocked(3, true)).toThrow(
      /VP index 3 is not in this partition: use 0\.\.2/,
    );
  });
});
