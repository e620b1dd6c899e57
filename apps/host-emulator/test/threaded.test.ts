import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createVm, type RunGuestOptions, runGuest } from '../src/index.ts';

const guest = (name: string) => new URL(`./guests/${name}`, import.meta.url);
const example = (name: string) => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));

async function run(vcpus: number, options: RunGuestOptions) {
  const vm = createVm({ vcpus });
  try {
    return await runGuest(vm, options);
  } finally {
    vm.close();
  }
}

describe('runGuest', () => {
  it('runs a guest program on every vCPU in parallel', async () => {
    const r = await run(4, { guest: guest('spin-wait.mjs') });
    expect(r.failures).toEqual([]);
    expect(r.passed).toBe(true);
    expect(r.reports).toEqual([{ ok: 20 }, { ok: 20 }, { ok: 20 }, { ok: 20 }]);
    expect(r.hypercalls).toBe(80);
    expect(r.log.map((l) => l.vp).sort()).toEqual([0, 1, 2, 3]);
  });

  it('the same seed gives the same events, times included; another seed differs', async () => {
    const events = async (seed: number) =>
      JSON.stringify((await run(4, { guest: guest('spin-wait.mjs'), seed })).events);
    const a = await events(7);
    expect(await events(7)).toBe(a);
    expect(await events(8)).not.toBe(a);
  });

  it.each([undefined, 1, 2, 3])('IPIs wake halted vCPUs (seed %s)', async (seed) => {
    const r = await run(4, { guest: example('ipi-ping-pong.mjs'), ...(seed === undefined ? {} : { seed }) });
    expect(r.failures).toEqual([]);
    expect(r.reports[0]).toEqual({ pongs: 3 });
    const interrupts = r.events.filter((e) => e.kind === 'interrupt');
    expect(interrupts.map((e) => (e.kind === 'interrupt' ? e.vector : 0)).sort()).toEqual([
      0x40, 0x40, 0x40, 0x41, 0x41, 0x41,
    ]);
  });

  it('rdtsc reads the virtual clock in seeded runs: the same seed gives the same readings', async () => {
    const readings = async (seed: number) => {
      const r = await run(2, { guest: guest('rdtsc.mjs'), seed });
      expect(r.failures).toEqual([]);
      return r.reports.map((x) => (x as { tsc: string[] }).tsc.map(BigInt));
    };
    const a = await readings(3);
    expect(await readings(3)).toEqual(a);
    for (const perVp of a) {
      // Each PAUSE between two readings is an exit that advances the virtual clock.
      expect(perVp[1]!).toBeGreaterThan(perVp[0]!);
      expect(perVp[2]!).toBeGreaterThan(perVp[1]!);
    }
  });

  it('rdtsc on threads without a seed reads the run clock and never goes back', async () => {
    const r = await run(1, { guest: guest('rdtsc.mjs') });
    expect(r.failures).toEqual([]);
    const [t0, t1, t2] = (r.reports[0] as { tsc: string[] }).tsc.map(BigInt);
    expect(t0).toBeGreaterThanOrEqual(0n);
    expect(t1).toBeGreaterThanOrEqual(t0!);
    expect(t2).toBeGreaterThanOrEqual(t1!);
  });

  it('the hypercall-statuses example passes', async () => {
    const r = await run(2, { guest: example('hypercall-statuses.mjs') });
    expect(r.failures).toEqual([]);
    expect(r.reports).toEqual([{ cases: 7 }, { cases: 7 }]);
  });

  it('faults reach the guest as GuestFaults it can catch', async () => {
    const r = await run(1, { guest: guest('faults.mjs') });
    expect(r.reports).toEqual([{ vectors: ['GP', 'UD'] }]);
    expect(r.events.filter((e) => e.kind === 'rdmsr')).toEqual([expect.objectContaining({ fault: '#GP' })]);
    expect(r.events.filter((e) => e.kind === 'hypercall')).toEqual([
      expect.objectContaining({ status: '#UD' }),
    ]);
  });

  it.each([undefined, 5])('every vCPU halted with nothing pending is a deadlock (seed %s)', async (seed) => {
    const r = await run(3, { guest: guest('deadlock.mjs'), ...(seed === undefined ? {} : { seed }) });
    expect(r.passed).toBe(false);
    expect(r.failures).toEqual([
      {
        kind: 'run',
        vps: [],
        message: expect.stringMatching(/^deadlock: vCPU 0, 1, 2 halted with no interrupt pending/),
      },
    ]);
  });

  it('a guest that never exits is stopped by the timeout', async () => {
    const r = await run(1, { guest: guest('spins-forever.mjs'), timeoutMs: 300 });
    expect(r.passed).toBe(false);
    expect(r.failures.map((f) => f.message)).toContain('the run took longer than 300 ms');
  });

  it("INVLPG and local flushes from guest threads reach their own VP's TLB", async () => {
    const vm = createVm({ vcpus: 2 });
    for (const vp of [0, 1]) {
      vm.vp(vp).tlb.fill(0x7000_1000n, 0x5000n);
      vm.vp(vp).tlb.fill(0x7000_2000n, 0x6000n, { global: true });
    }
    const r = await runGuest(vm, { guest: guest('local-flush.mjs') });
    expect(r.failures).toEqual([]);
    expect(
      vm
        .vp(0)
        .tlb.entries()
        .map((e) => e.gva),
    ).toEqual([0x7000_2000n]);
    expect(vm.vp(1).tlb.size).toBe(0);
    vm.close();
  });

  it('fast-call slots the guest leaves out read as zero, whatever earlier exits left there', async () => {
    const vm = createVm({ vcpus: 1 });
    const seen: bigint[][] = [];
    const sixIn = 0x7f01;
    const twoOut = 0x7f02;
    vm.partition.dispatcher.register({
      kind: 'simple',
      code: sixIn,
      name: 'TestSixSlotsIn',
      fixedInputBytes: 48,
      outputBytes: 0,
      fast: 'xmm',
      handler(call) {
        seen.push(Array.from({ length: 6 }, (_, i) => call.input.getBigUint64(8 * i, true)));
        return 0;
      },
    });
    vm.partition.dispatcher.register({
      kind: 'simple',
      code: twoOut,
      name: 'TestTwoSlotsOut',
      fixedInputBytes: 8,
      outputBytes: 16,
      fast: 'xmm',
      handler(call) {
        call.output.setBigUint64(0, 0xaan, true);
        call.output.setBigUint64(8, 0xbbn, true);
        return 0;
      },
    });
    const url = guest('fast-slots.mjs');
    url.search = `?sixIn=${sixIn}&twoOut=${twoOut}`;
    try {
      const r = await runGuest(vm, { guest: url });
      expect(r.failures).toEqual([]);
      expect(r.reports[0]).toEqual({ output: ['170', '187'], results: ['0', '0', '0', '0', '0', '0', '0'] });
    } finally {
      vm.close();
    }
    expect(seen).toEqual([
      [1n, 2n, 3n, 4n, 5n, 6n],
      [7n, 0n, 0n, 0n, 0n, 0n],
      [0n, 0n, 0n, 0n, 0n, 0n],
      [8n, 0n, 0n, 0n, 0n, 0n],
      [10n, 0n, 0n, 0n, 0n, 0n],
    ]);
  });

  // 1 vCPU: the vCPU stamps each exit right after posting it. One vCPU more than cores (the host
  // thread makes it oversubscribed): it stamps before posting, so no slice can come out empty.
  it.each([
    ['1 vCPU', 1],
    ['oversubscribed', availableParallelism()],
  ])('times every hypercall exit of a parallel run (%s)', async (_, vcpus) => {
    const r = await run(vcpus, { guest: guest('spin-wait.mjs') });
    expect(r.passed).toBe(true);
    const calls = r.events.filter((e) => e.kind === 'hypercall');
    expect(calls).toHaveLength(r.hypercalls);
    if (vcpus > 1) expect(calls.every((e) => e.dur > 0)).toBe(true);
    for (let vp = 0; vp < vcpus; vp++) {
      const mine = calls.filter((e) => e.vp === vp);
      expect(mine.length).toBeGreaterThan(0);
      for (const [i, e] of mine.entries()) {
        // Every exit got its vCPU's stamp and its completion time, in the run's clock.
        expect(Number.isFinite(e.ts) && Number.isFinite(e.dur)).toBe(true);
        expect(e.ts).toBeGreaterThanOrEqual(0);
        expect(e.dur).toBeGreaterThanOrEqual(0);
        expect(e.ts + e.dur).toBeLessThanOrEqual(r.durationMs * 1000);
        // The stamps are the vCPU's own clock readings, in program order.
        if (i > 0) expect(e.ts).toBeGreaterThanOrEqual(mine[i - 1]!.ts);
      }
    }
  });

  it('one failing vCPU fails the run and the others unwind', async () => {
    const r = await run(3, { guest: guest('fails.mjs'), seed: 9 });
    expect(r.failures).toEqual([
      { kind: 'program', vps: [1], message: 'vCPU 1 expected VP index 7, read 1' },
    ]);
  });
});
