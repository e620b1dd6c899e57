import { guestImageUrl, type KernelCpuReport } from '@pvlab/guest-emulator';
import { EchoDevice, vmbusHostState } from '@pvlab/vmbus-ring/host';
import { expect } from 'vitest';
import { createVm, runGuest } from '../../src/index.ts';

// `pnpm test` runs the first QUICK_SEEDS seeds; `pnpm test:long` (tag `long`) runs all SEEDS.
export const SEEDS = 100;
export const QUICK_SEEDS = 10;
export const PACKETS = 300;

export async function echoRun(seed: number | undefined, vcpus = 2) {
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

/** Seeds 0..seeds-1: every packet echoed, none lost, reordered or corrupted. */
export async function echoesUnder(seeds: number) {
  for (let seed = 0; seed < seeds; seed++) {
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
}
