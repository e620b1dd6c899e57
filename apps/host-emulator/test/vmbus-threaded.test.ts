import { guestImageUrl, type KernelCpuReport } from '@pvlab/guest-emulator';
import { EchoDevice, vmbusHostState } from '@pvlab/vmbus-ring/host';
import { describe, expect, it } from 'vitest';
import { createVm, runGuest } from '../src/index.ts';

const SEEDS = 100;
const PACKETS = 300;

async function echoRun(seed: number | undefined, vcpus = 2) {
  const vm = createVm({ vcpus });
  const r = await runGuest(vm, {
    guest: guestImageUrl(),
    args: { workload: 'vmbus', 'vmbus-packets': String(PACKETS) },
    ...(seed === undefined ? {} : { seed }),
    timeoutMs: 60_000,
  });
  const server = vmbusHostState(vm.partition).server;
  const echo = [...server.channels.values()].map((c) => c.device).find((d) => d instanceof EchoDevice);
  const diagnostics = vm.takeDiagnostics();
  vm.close();
  return {
    r,
    echo: echo as EchoDevice,
    diagnostics,
    cpu0: r.reports[0]?.kernel as KernelCpuReport | undefined,
  };
}

describe('a VMBus channel between the guest-emulator and the echo device, on vCPU threads', () => {
  it(`under ${SEEDS} seeds: ${PACKETS} packets each way, none lost, reordered or corrupted`, async () => {
    for (let seed = 0; seed < SEEDS; seed++) {
      const { r, echo, diagnostics, cpu0 } = await echoRun(seed);
      const where = `seed ${seed}`;
      // The guest checks every answer (type, trans_id, bytes, order) and fails the run otherwise.
      expect(r.failures, where).toEqual([]);
      expect(diagnostics, where).toEqual([]);
      expect(cpu0?.vmbus, where).toMatchObject({ version: 0x50003, relid: 1, packets: PACKETS });
      expect(echo.counters.packets, where).toBe(PACKETS);
      expect(echo.corrupt, where).toBeNull();
      const posts = r.events.filter((e) => e.kind === 'hypercall' && e.name === 'HvCallPostMessage');
      expect(
        posts.every((e) => e.kind === 'hypercall' && e.status === 'HV_STATUS_SUCCESS'),
        where,
      ).toBe(true);
    }
  }, 300_000);

  it('in parallel on 4 vCPUs, with the rings filling up', async () => {
    const { r, echo, cpu0 } = await echoRun(undefined, 4);
    expect(r.failures).toEqual([]);
    expect(echo.counters.packets).toBe(PACKETS);
    // The device counts padded payloads (8-byte multiples): never fewer bytes than the guest sent.
    expect(echo.counters.bytes).toBeGreaterThanOrEqual(cpu0?.vmbus?.bytes ?? Number.POSITIVE_INFINITY);
    expect(echo.counters.stalls + (cpu0?.vmbus?.fullRing ?? 0)).toBeGreaterThan(0);
  }, 60_000);
});
