/**
 * VcpuThreadPool: runs reuse its vCPU threads and give back the ones that ended cleanly; a thread
 * that had to be stopped is dropped, and the next run starts a new one.
 */
import { describe, expect, it } from 'vitest';
import { createVm, runGuest, VcpuThreadPool } from '../src/index.ts';
import { guest } from './cli-harness.ts';

async function runOn(
  threads: VcpuThreadPool,
  name: string,
  vcpus: number,
  extra: { timeoutMs?: number } = {},
) {
  const vm = createVm({ vcpus });
  try {
    return await runGuest(vm, { guest: guest(name), seed: 1, threads, ...extra });
  } finally {
    vm.close();
  }
}

describe('VcpuThreadPool', () => {
  it('runs reuse its threads, passing or failing, and a pooled run is the run a fresh thread makes', async () => {
    const threads = new VcpuThreadPool();
    try {
      const first = await runOn(threads, 'spin-wait.mjs', 2);
      expect(first.passed).toBe(true);
      expect(threads.idle).toBe(2);
      const again = await runOn(threads, 'spin-wait.mjs', 2);
      expect(threads.idle).toBe(2);
      expect(again.hypercalls).toBe(first.hypercalls);
      expect(again.reports).toEqual(first.reports);
      const vm = createVm({ vcpus: 2 });
      const fresh = await runGuest(vm, { guest: guest('spin-wait.mjs'), seed: 1 });
      vm.close();
      expect(again.events).toEqual(fresh.events);

      const failed = await runOn(threads, 'fails.mjs', 2);
      expect(failed.passed).toBe(false);
      expect(threads.idle).toBe(2);
      const more = await runOn(threads, 'spin-wait.mjs', 3);
      expect(more.passed).toBe(true);
      expect(threads.idle).toBe(3);
    } finally {
      await threads.close();
    }
    await expect(runOn(threads, 'spin-wait.mjs', 1)).rejects.toThrow('the vCPU thread pool is closed');
  }, 120_000);

  it('a thread stopped in the middle of a run (a guest spinning without exits) is dropped, not reused', async () => {
    const threads = new VcpuThreadPool();
    try {
      const stuck = await runOn(threads, 'spins-forever.mjs', 1, { timeoutMs: 300 });
      expect(stuck.passed).toBe(false);
      expect(stuck.failures.map((f) => f.message)).toContain('the run took longer than 300 ms');
      expect(threads.idle).toBe(0);
      expect((await runOn(threads, 'spin-wait.mjs', 1)).passed).toBe(true);
      expect(threads.idle).toBe(1);
    } finally {
      await threads.close();
    }
  }, 120_000);
});
