// Tagged `long` (run by `pnpm test:long`): every seed, where `vtl-threaded.test.ts` runs a few.
import { describe, it } from 'vitest';
import { flushWaitsForLock, SEEDS } from './seeds/vtl-threaded.ts';

describe('TLB-flush inhibit on vCPU threads (spec 03 rules 9–11)', () => {
  it(
    `under ${SEEDS} seeds: a flush of a locked VP suspends its caller, which is resumed exactly once and completes only after the unlock`,
    { tags: ['long'] },
    () => flushWaitsForLock(SEEDS),
  );
});
