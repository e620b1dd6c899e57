// Linux's per-CPU bring-up on vCPU threads (guests/cpu-up.c, run by runGuest as a .wasm guest):
// every CPU runs hv_common_cpu_init() from the tree's drivers/hv/hv_common.c while the CPUs
// already up send it requests through hv_apic.c, each request answered by an IPI back. Seeded
// runs (one vCPU at a time, in an order drawn from the seed): a lost IPI leaves a CPU halted and
// the host ends the run as a deadlock, so a passing run lost none.
import { createVm, type RunResult, runGuest } from '@pvlab/host-emulator';
import { describe, expect, it } from 'vitest';
import { linux } from '../src/suite.ts';

/** Each vCPU's reports: requests it sent, answers it took, requests it served, its VP index. */
interface CpuReport {
  readonly sent: number;
  readonly answers: number;
  readonly served: number;
  readonly vp_index: number;
}

async function run(vcpus: number, seed: number): Promise<RunResult> {
  const vm = createVm({ vcpus });
  try {
    // A timeout only ends a run that hangs; a lost IPI is a deadlock the host reports at once.
    return await runGuest(vm, {
      guest: linux!.guests['cpu-up'],
      seed,
      args: { rounds: '4' },
      timeoutMs: 120_000,
    });
  } finally {
    vm.close();
  }
}

function expectNoLostIpi(r: RunResult, vcpus: number, seed: number): void {
  expect(r.failures, `seed ${seed}`).toEqual([]);
  const reports = r.reports as unknown as CpuReport[];
  expect(reports.map((c) => c.vp_index)).toEqual(Array.from({ length: vcpus }, (_, i) => i));
  for (const c of reports) expect(c.answers, `seed ${seed}`).toBe(c.sent);
  const sum = (k: keyof CpuReport) => reports.reduce((n, c) => n + c[k], 0);
  expect(sum('served'), `seed ${seed}`).toBe(sum('sent'));
  expect(sum('sent')).toBeGreaterThan(vcpus);
}

describe.skipIf(linux === null)('hv_common_cpu_init on vCPU threads with IPIs in flight', () => {
  it('200 seeds on 8 vCPUs: every request answered, no lost IPI', { timeout: 30 * 60_000 }, async () => {
    for (let seed = 1; seed <= 200; seed++) expectNoLostIpi(await run(8, seed), 8, seed);
  });

  it('3 seeds on 70 vCPUs: VPs above 63 (HvCallSendSyntheticClusterIpiEx, native before a CPU is up)', {
    timeout: 30 * 60_000,
  }, async () => {
    for (let seed = 1; seed <= 3; seed++) expectNoLostIpi(await run(70, seed), 70, seed);
  });
});
