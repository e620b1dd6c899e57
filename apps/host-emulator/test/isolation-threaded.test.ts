import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createVm, runGuest, runPvlabHost, toChromeTrace } from '../src/index.ts';

const guest = fileURLToPath(new URL('./guests/isolation-share.mjs', import.meta.url));
const BOUNDARY = 1n << 36n;

describe('an isolation VM on vCPU threads', () => {
  it('gives guest programs cpu.isolation (the boundary view); the host sees what the guest shared; refusals and conversions are in the trace', async () => {
    const vm = createVm({ vcpus: 2, isolation: { sharedGpaBoundaryBits: 36 } });
    const r = await runGuest(vm, { guest, seed: 3 });
    expect(r.failures).toEqual([]);
    expect(r.reports[0]).toEqual({
      privateThroughAlias: '#MEMORY',
      sharedBelowBoundary: '#MEMORY',
      sharedThroughAlias: [0x70, 0x76, 0x6c, 0x61, 0x62],
    });
    expect([...vm.hostMemory.read(0x40000n | BOUNDARY, 5)]).toEqual([0x70, 0x76, 0x6c, 0x61, 0x62]);
    // The host reaching for a page it may not touch is refused — and traced.
    expect(() => vm.hostMemory.read(0x41000n | BOUNDARY, 1)).toThrow(/0x1000041000/);
    const isolation = r.events.filter((e) => e.kind === 'isolation');
    expect(isolation.map((e) => e.kind === 'isolation' && e.what)).toEqual(['visibility-changed']);
    const trace = toChromeTrace(r.events, { vcpus: 2, guest: 'isolation-share', seed: 3 });
    expect(trace.traceEvents.some((e) => e.ph === 'i' && e.cat === 'isolation')).toBe(true);
  });

  it('in an ordinary VM, cpu.isolation is undefined', async () => {
    const vm = createVm({ vcpus: 1 });
    const r = await runGuest(vm, { guest });
    expect(r.failures.map((f) => f.message)).toEqual(['not an isolation VM']);
  });

  it('pvlab-host run --isolation <bits> runs a guest program in an isolation VM; a boundary below RAM is refused', async () => {
    let out = '';
    let err = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t) };
    expect(
      await runPvlabHost(['run', '--vcpus', '2', '--isolation', '36', '--guest', guest, '--json'], io),
    ).toBe(0);
    expect((JSON.parse(out) as { reports: Record<string, unknown>[] }).reports[0]).toMatchObject({
      privateThroughAlias: '#MEMORY',
    });
    out = '';
    expect(await runPvlabHost(['run', '--isolation', '20'], io)).toBe(2);
    expect(err).toMatch(/isolation.sharedGpaBoundaryBits = 20: the boundary 2\^20 is below the end of RAM/);
  });
});
