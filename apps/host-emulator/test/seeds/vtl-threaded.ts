import { guestImageUrl, type KernelCpuReport } from '@pvlab/guest-emulator';
import { vtlHostState } from '@pvlab/vtl/host';
import { expect } from 'vitest';
import { createVm, runGuest } from '../../src/index.ts';

// `pnpm test` runs the first QUICK_SEEDS seeds; `pnpm test:long` (tag `long`) runs all SEEDS.
export const SEEDS = 200;
export const QUICK_SEEDS = 20;

/** One seeded run of the guest-emulator's VTL1 scenario on 2 vCPUs. */
export async function scenario(seed: number | undefined) {
  const vm = createVm({ vcpus: 2 });
  const resumes: number[][] = [];
  vtlHostState(vm.partition).onEvent((e) => {
    if (e.kind === 'tlb-lock' && !e.locked) resumes.push([...e.resumed]);
  });
  const r = await runGuest(vm, {
    guest: guestImageUrl(),
    args: { workload: 'vtl' },
    ...(seed === undefined ? {} : { seed }),
    timeoutMs: 30_000,
  });
  const flushes = r.events.filter(
    (e) => e.kind === 'hypercall' && e.name === 'HvCallFlushVirtualAddressSpace',
  );
  const diagnostics = vm.takeDiagnostics();
  vm.close();
  const cpu0 = r.reports[0]?.kernel as KernelCpuReport | undefined;
  return { r, flushes, resumes, diagnostics, cpu0 };
}

/** Seeds 0..seeds-1: a flush of a locked VP is parked and resumed exactly once, in both orders. */
export async function flushWaitsForLock(seeds: number) {
  let waited = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const { r, flushes, resumes, diagnostics, cpu0 } = await scenario(seed);
    const where = `seed ${seed}`;
    expect(r.failures, where).toEqual([]);
    expect(diagnostics, where).toEqual([]);
    const statuses = flushes.map((f) => (f.kind === 'hypercall' ? f.status : ''));
    const suspended = statuses.filter((s) => s === 'SUSPENDED').length;
    // The flush ends in exactly one SUCCESS, however many times it was parked first.
    expect(
      statuses.filter((s) => s === 'HV_STATUS_SUCCESS'),
      where,
    ).toHaveLength(1);
    expect(statuses.at(-1), where).toBe('HV_STATUS_SUCCESS');
    // Each suspension was matched by one resume of VP 0 (no lost wake-up, no double one).
    expect(
      resumes.flat().filter((vp) => vp === 0),
      where,
    ).toHaveLength(suspended);
    if (cpu0?.vtl.issuedWhileLocked) {
      expect(suspended, where).toBe(1);
      waited++;
    }
  }
  // Both orders happen: the flush issued while the lock held (and waited), and after it.
  expect(waited).toBeGreaterThan(0);
}
