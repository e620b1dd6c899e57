import { describe, expect, it } from 'vitest';
import { flushWaitsForLock, QUICK_SEEDS, scenario } from './seeds/vtl-threaded.ts';

describe('TLB-flush inhibit on vCPU threads (spec 03 rules 9–11)', () => {
  it(`under ${QUICK_SEEDS} seeds: a flush of a locked VP suspends its caller, which is resumed exactly once and completes only after the unlock`, () =>
    flushWaitsForLock(QUICK_SEEDS));

  it('in parallel (no seed) the flush waits for the lock too', async () => {
    for (let i = 0; i < 5; i++) {
      const { r, flushes } = await scenario(undefined);
      expect(r.failures).toEqual([]);
      expect(flushes.filter((f) => f.kind === 'hypercall' && f.status === 'HV_STATUS_SUCCESS')).toHaveLength(
        1,
      );
    }
  }, 60_000);
});
