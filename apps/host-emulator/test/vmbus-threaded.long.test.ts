// Tagged `long` (run by `pnpm test:long`): every seed, where `vmbus-threaded.test.ts` runs a few.
import { describe, it } from 'vitest';
import { echoesUnder, PACKETS, SEEDS } from './seeds/vmbus-threaded.ts';

describe('a VMBus channel between the guest-emulator and the echo device, on vCPU threads', () => {
  it(
    `under ${SEEDS} seeds: ${PACKETS} packets each way, none lost, reordered or corrupted`,
    { tags: ['long'] },
    () => echoesUnder(SEEDS),
  );
});
