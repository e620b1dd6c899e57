import { describe, expect, it } from 'vitest';
import { echoesUnder, echoRun, PACKETS, QUICK_SEEDS } from './seeds/vmbus-threaded.ts';

describe('a VMBus channel between the guest-emulator and the echo device, on vCPU threads', () => {
  it(`under ${QUICK_SEEDS} seeds: ${PACKETS} packets each way, none lost, reordered or corrupted`, () =>
    echoesUnder(QUICK_SEEDS));

  it('in parallel on 4 vCPUs, with the rings filling up', async () => {
    const { r, echo, cpu0 } = await echoRun(undefined, 4);
    expect(r.failures).toEqual([]);
    expect(echo.counters.packets).toBe(PACKETS);
    // The device counts padded payloads (8-byte multiples): never fewer bytes than the guest sent.
    expect(echo.counters.bytes).toBeGreaterThanOrEqual(cpu0?.vmbus?.bytes ?? Number.POSITIVE_INFINITY);
    expect(echo.counters.stalls + (cpu0?.vmbus?.fullRing ?? 0)).toBeGreaterThan(0);
  }, 60_000);
});
