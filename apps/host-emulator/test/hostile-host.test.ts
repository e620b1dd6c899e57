import { describe, expect, it } from 'vitest';
import { hostileRun, QUICK_SEEDS, survives } from './seeds/hostile-host.ts';

describe('the hostile host (an isolation VM whose VMBus host corrupts the shared rings)', () => {
  it(`the guest survives ${QUICK_SEEDS} seeds: no crash, no read outside its rings, the tampering noticed`, () =>
    survives(QUICK_SEEDS));

  it('the same seed tampers the same way', async () => {
    const a = await hostileRun(42);
    const b = await hostileRun(42);
    expect(a.device.events).toEqual(b.device.events);
    expect(a.report).toEqual(b.report);
  });
});
