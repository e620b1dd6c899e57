import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestImageUrl, type KernelCpuReport } from '@pvlab/guest-emulator';
import { describe, expect, it } from 'vitest';
import { createVm, runGuest, runPvlabHost } from '../src/index.ts';

async function boot(args: Record<string, string>, seed = 1) {
  const vm = createVm({ vcpus: 2, memoryBytes: 16 * 1024 * 1024, isolation: { sharedGpaBoundaryBits: 36 } });
  const r = await runGuest(vm, { guest: guestImageUrl(), seed, args: { workload: 'isolation', ...args } });
  return { r, vm };
}

describe('the guest-emulator in an isolation VM: the four places of spec 05', () => {
  it('shares the monitor pages, a double-mapped ring, a vmap_pfn buffer and a bounce pool through the alias', async () => {
    const { r, vm } = await boot({});
    expect(r.failures).toEqual([]);
    const report = (r.reports[0]?.kernel as KernelCpuReport | undefined)?.isolation;
    expect(report).toEqual({
      boundary: '0x1000000000',
      places: ['monitor', 'ring', 'buffer', 'bounce'],
      poolExhaustedCaught: true,
    });
    // What the guest shared, the host can reach through the alias; the rest it cannot.
    const visibility = r.events.filter((e) => e.kind === 'isolation' && e.what === 'visibility-changed');
    expect(visibility.length).toBeGreaterThanOrEqual(4);
    expect(vm.hostMemory.allows(0x1_0000n | (1n << 36n), 8, 'read')).toBe(false);
  });

  it('runs the VMBus device over shared rings and the bounce pool (GPA-direct packets the host reads through the alias)', async () => {
    const { r } = await boot({ workload: 'vmbus', 'vmbus-packets': '200' });
    expect(r.failures).toEqual([]);
    const vmbus = (r.reports[0]?.kernel as KernelCpuReport | undefined)?.vmbus;
    expect(vmbus).toMatchObject({ packets: 200, answers: 200, hostileDetected: null, bounced: 50 });
    expect(r.log.map((l) => l.line).join('\n')).toMatch(
      /vmbus: VMBus 5\.3, echo channel relid 1: 200 packets \(\d+ bytes\) echoed in order, ring full \d+×, 50 as GPA-direct from the bounce pool/,
    );
  });

  it.each([
    ['monitor', 'VMBus monitor page'],
    ['ring', 'VMBus ring buffer'],
    ['buffer', 'netvsc buffer (vmap_pfn)'],
    ['bounce', 'swiotlb bounce pool'],
  ])('isolation-forget=%s: the forgotten boundary is caught, naming the place', async (place, name) => {
    const { r } = await boot({ 'isolation-forget': place });
    expect(r.passed).toBe(false);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({ kind: 'program', vps: [0] });
    expect(r.failures[0]?.message).toContain(`isolation (${place}): #MEMORY: ${name}: guest write of GPA`);
    expect(r.failures[0]?.message).toMatch(/through the private alias, but page 0x[0-9a-f]+ is shared/);
  });

  it('in an ordinary VM the workload does nothing', async () => {
    const vm = createVm({ vcpus: 1 });
    const r = await runGuest(vm, { guest: guestImageUrl(), seed: 1, args: { workload: 'isolation' } });
    expect(r.failures).toEqual([]);
    expect((r.reports[0]?.kernel as KernelCpuReport | undefined)?.isolation).toBeNull();
  });

  it('pvlab-host demo --isolation 36: every place, VMBus over shared rings and the bounce pool, isolation events in the trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvlab-iso-'));
    try {
      let out = '';
      let err = '';
      const trace = join(dir, 'iso.json');
      const code = await runPvlabHost(['demo', '--isolation', '36', '--seed', '2', '--trace', trace], {
        out: (t) => (out += t),
        err: (t) => (err += t),
      });
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toContain('isolation: boundary 0x1000000000; monitor, ring, buffer, bounce checked');
      expect(out).toMatch(
        /2000 packets \(\d+ bytes\) echoed in order, ring full \d+×, 500 as GPA-direct from the bounce pool/,
      );
      const events = (JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: { cat?: string }[] })
        .traceEvents;
      expect(events.filter((e) => e.cat === 'isolation').length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
