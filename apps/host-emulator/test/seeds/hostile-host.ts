import { guestImageUrl, type KernelCpuReport } from '@pvlab/guest-emulator';
import { vmbusHostState } from '@pvlab/vmbus-ring/host';
import { expect } from 'vitest';
import { createVm, HostileDevice, runGuest } from '../../src/index.ts';

// `pnpm test` runs the first QUICK_SEEDS seeds; `pnpm test:long` (tag `long`) runs all SEEDS.
export const SEEDS = 500;
export const QUICK_SEEDS = 40;

/** One seeded run: an isolation VM whose VMBus host tampers with the shared rings (seeded too). */
export async function hostileRun(seed: number) {
  const vm = createVm({
    vcpus: 2,
    isolation: { sharedGpaBoundaryBits: 36 },
    hostileHost: { seed, rate: 0.3 },
  });
  const r = await runGuest(vm, {
    guest: guestImageUrl(),
    seed,
    args: { workload: 'vmbus', 'vmbus-packets': '40' },
  });
  const device = [...vmbusHostState(vm.partition).server.channels.values()][0]?.device as HostileDevice;
  vm.takeDiagnostics();
  vm.close();
  return { r, device, report: (r.reports[0]?.kernel as KernelCpuReport | undefined)?.vmbus };
}

/** Seeds 0..seeds-1: no crash, no read outside the rings, and the tampering is seen and noticed. */
export async function survives(seeds: number) {
  let tampered = 0;
  let noticed = 0;
  const kinds = new Set<string>();
  for (let seed = 0; seed < seeds; seed++) {
    const { r, device, report } = await hostileRun(seed);
    const where = `seed ${seed}`;
    // No crash and no fault: a read outside the rings would be a MEMORY fault, an exception a crash.
    expect(r.failures, where).toEqual([]);
    expect(device).toBeInstanceOf(HostileDevice);
    if (device.events.length > 0) tampered++;
    for (const e of device.events) kinds.add(e.kind);
    if (report?.hostileDetected) noticed++;
    // A guest that noticed nothing got every answer right.
    if (!report?.hostileDetected) expect(report?.answers, where).toBe(40);
  }
  expect(tampered).toBeGreaterThan(seeds / 2);
  expect(noticed).toBeGreaterThan(seeds / 4);
  expect([...kinds].sort()).toEqual(
    ['flags', 'len8', 'offset8', 'pending-send-size', 'read-index', 'trans-id', 'type', 'write-index'].sort(),
  );
}
