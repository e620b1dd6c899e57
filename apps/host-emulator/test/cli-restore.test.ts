import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL } from '@pvlab/hypercall';
import { GuestHypercalls, perCpuHypercallPages } from '@pvlab/hypercall/guest';
import { GuestSynic, VmbusClient } from '@pvlab/vmbus-ring/guest';
import { afterAll, describe, expect, it } from 'vitest';
import { createVm } from '../src/index.ts';
import { run } from './cli-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'pvlab-cli-restore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pvlab-host run --save / --restore with the built-in guest-emulator', () => {
  it("the README's example: the restored run resumes the VMBus connection and channel and passes", async () => {
    const snap = join(dir, 'vm.json');
    const saved = await run('run', '--vcpus', '2', '--save', snap);
    expect(saved.err).toBe('');
    expect(saved.code).toBe(0);
    const restored = await run('run', '--restore', snap, '--timeout', '120000');
    expect(restored.err).toBe('');
    expect(restored.code).toBe(0);
    expect(restored.out).toContain(
      'vmbus: resumed the VMBus 5.3 connection, echo channel relid 1 still open',
    );
    expect(restored.out).toMatch(/vmbus: VMBus 5\.3, echo channel relid 1: 2000 packets .* echoed in order/);
    expect(restored.out).toMatch(/^ipi: (\d+)\/\1 workload IPIs reached their target CPU$/m);
  }, 240_000);

  it('workload=none on 1 vCPU: the restored run ends (its end-of-run counters start over)', async () => {
    const snap = join(dir, 'none.json');
    expect((await run('run', '--guest-arg', 'workload=none', '--save', snap)).code).toBe(0);
    const restored = await run(
      'run',
      '--restore',
      snap,
      '--guest-arg',
      'workload=none',
      '--timeout',
      '60000',
    );
    expect(restored.err).toBe('');
    expect(restored.code).toBe(0);
  }, 120_000);

  it('an error inside the bundled guest is a failing guest (exit 1), not bad input', async () => {
    // A snapshot of a VM whose VMBus the host already has a connection for, made by no guest the
    // guest-emulator knows of: its INITIATE_CONTACT is refused and its driver throws.
    const vm = createVm({ vcpus: 1, memoryBytes: 16 * 1024 * 1024 });
    const cpu = vm.vp(0);
    cpu.writeMsr(HV_X64_MSR_GUEST_OS_ID, 0x8100n << 48n);
    cpu.writeMsr(HV_X64_MSR_HYPERCALL, 0x1000n | 1n);
    const synic = new GuestSynic(cpu, vm.memory, { simpPfn: 4n, siefpPfn: 5n, vector: 0xf3 });
    synic.enable();
    const hypercalls = new GuestHypercalls(
      { cpu, memory: vm.memory },
      perCpuHypercallPages('separate', 0x2000n, 0x3000n),
    );
    new VmbusClient({
      cpu,
      memory: vm.memory,
      hypercalls,
      synic,
      monitorPages: [0x6000n, 0x7000n],
    }).connect();
    const snap = join(dir, 'connected.json');
    writeFileSync(snap, JSON.stringify(vm.save()));
    vm.close();

    const r = await run('run', '--restore', snap, '--guest-arg', 'workload=vmbus', '--timeout', '60000');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^pvlab-host: guest failed on vCPU 0: VmbusGuestError: the host refused every version of 0x50003, /m,
    );
    expect(r.err).not.toContain('the guest program threw');
  }, 120_000);

  it.each([
    [
      ['--guest-arg', 'workload=bogus'],
      "--guest-arg workload=bogus: use 'all', 'none' or a comma list of spin-wait, ipi, ring, tlb, vtl, vmbus, isolation",
    ],
    [['--guest-arg', 'vmbus-packets=0'], '--guest-arg vmbus-packets=0: use an integer from 1 to 1000000'],
    [
      ['--guest-arg', 'colour=red'],
      '--guest-arg colour: unknown option; the guest-emulator takes workload, vp-index-bug, native, per-cpu-layout, get-vtl, vmbus-packets, untrusted-host, isolation-forget',
    ],
    [['--arch', 'arm64', '--guest-arg', 'work=0'], '--guest-arg work=0: use an integer from 1 to 1000000'],
    [
      ['--arch', 'arm64', '--guest-arg', 'workload=none'],
      '--guest-arg workload: unknown option; the arm64 guest-emulator takes work',
    ],
  ])(
    'a bad --guest-arg for the built-in guest (%j) is user input: exit 2, one line, nothing written',
    async (flags, message) => {
      const snap = join(dir, 'bad-arg.json');
      const trace = join(dir, 'bad-arg-trace.json');
      const r = await run('run', ...flags, '--save', snap, '--trace', trace);
      expect(r.code).toBe(2);
      expect(r.err).toBe(`pvlab-host: ${message}\n`);
      expect(r.out).toBe('');
      expect(existsSync(snap)).toBe(false);
      expect(existsSync(trace)).toBe(false);
    },
  );
});
