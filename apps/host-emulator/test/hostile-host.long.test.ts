// Tagged `long` (run by `pnpm test:long`): every seed, where `hostile-host.test.ts` runs a few.
import { describe, it } from 'vitest';
import { SEEDS, survives } from './seeds/hostile-host.ts';

describe('the hostile host (an isolation VM whose VMBus host corrupts the shared rings)', () => {
  it(
    `the guest survives ${SEEDS} seeds: no crash, no read outside its rings, the tampering noticed`,
    { tags: ['long'] },
    () => survives(SEEDS),
  );
});
