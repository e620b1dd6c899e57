import { guestImageUrl, type KernelCpuReport } from '@pvlab/guest-emulator';
import { vtlHostState } from '@pvlab/vtl/host';
import { describe, expect, it } from 'vitest';
import { createVm, runGuest } from '../src/index.ts';

const SEEDS = 200;

/** One seeded run of the guest-emulator's VTL1 scenario on 2 vCPUs. */
async function scenario(seed: number | undefined) {
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

describe('TLB-flush inhibit on vCPU threads (spec 03 rules 9–11)', () => {
  it(`under ${SEEDS} seeds: a flush of a locked VP suspends its caller, which is resumed exactly once and completes only after the unlock`, async () => {
    let waited = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
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
  }, 300_000);

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
