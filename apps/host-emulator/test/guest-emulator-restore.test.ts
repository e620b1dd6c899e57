import { guestImageUrl, type KernelCpuReport, WORKLOADS, type Workload } from '@pvlab/guest-emulator';
import { vmbusHostState } from '@pvlab/vmbus-ring/host';
import { describe, expect, it } from 'vitest';
import {
  type CreateVmOptions,
  createVm,
  type RunResult,
  restoreVm,
  runGuest,
  type Vm,
} from '../src/index.ts';

const PACKETS = 40;
const VCPUS = 2;

async function run(vm: Vm, workload: Workload, seed: number | undefined): Promise<RunResult> {
  return runGuest(vm, {
    guest: guestImageUrl(),
    args: { workload, 'vmbus-packets': String(PACKETS) },
    ...(seed === undefined ? {} : { seed }),
    // A restored kernel that waits forever must fail the test, not hang it.
    timeoutMs: 60_000,
  });
}

const kernel = (r: RunResult) => r.reports.map((rep) => rep['kernel'] as KernelCpuReport);
const postMessages = (r: RunResult) =>
  r.events.filter((e) => e.kind === 'hypercall' && e.name === 'HvCallPostMessage').length;

/** What each workload must have done, run to its end, on a 2-vCPU VM. */
const finished: Record<Workload, (reports: KernelCpuReport[]) => void> = {
  'spin-wait': (k) => {
    for (const cpu of k) expect(cpu.spinWaitStatuses).toEqual(Array(4).fill('HV_STATUS_SUCCESS'));
  },
  ipi: (k) => {
    for (const cpu of k) expect(cpu.ipi.received).toBeGreaterThan(0);
  },
  ring: (k) => {
    for (const cpu of k) expect(cpu.ringIpi).toBe(true);
  },
  tlb: (k) => {
    expect(k[0]!.tlb.shootdowns).toBe(5);
    expect(k[1]!.tlb.shootdowns).toBe(4);
  },
  vtl: (k) => {
    expect(k[0]!.vtl).toMatchObject({ role: 'flusher', flushStatus: 'HV_STATUS_SUCCESS' });
    expect(k[1]!.vtl).toEqual({ role: 'vtl1', vtls: [1, 0] });
  },
  vmbus: (k) => {
    expect(k[0]!.vmbus).toMatchObject({ version: 0x50003, relid: 1, packets: PACKETS, answers: PACKETS });
  },
  isolation: (k) => {
    expect(k[0]!.isolation?.places).toEqual(['monitor', 'ring', 'buffer', 'bounce']);
  },
};

const vmOptions = (workload: Workload): CreateVmOptions => ({
  vcpus: VCPUS,
  memoryBytes: 16 * 1024 * 1024,
  ...(workload === 'isolation' ? { isolation: { sharedGpaBoundaryBits: 36 } } : {}),
});

const cases = WORKLOADS.flatMap((w) => [
  [w, 7],
  [w, undefined],
]) as [Workload, number | undefined][];

describe('the x64 guest-emulator resumes from a snapshot written when its run ended', () => {
  it.each(cases)(
    '%s (seed %s): the restored run runs the workload to its end again',
    async (workload, seed) => {
      const first = createVm(vmOptions(workload));
      const before = await run(first, workload, seed);
      expect(before.failures).toEqual([]);
      finished[workload](kernel(before));
      const snapshot = JSON.parse(JSON.stringify(first.save())) as unknown;
      first.close();

      const vm = restoreVm(snapshot);
      try {
        const after = await run(vm, workload, seed);
        expect(after.failures).toEqual([]);
        expect(after.passed).toBe(true);
        expect(vm.takeDiagnostics()).toEqual([]);
        finished[workload](kernel(after));
        expect(after.log.map((l) => l.line)).toContain(
          'resume: restored VM — per-run state cleared; hypercall page, VTL and VMBus kept',
        );
        if (workload === 'vmbus') {
          // The connection and the open channel are taken over: no channel message at all (no
          // INITIATE_CONTACT, REQUESTOFFERS, GPADL or OPENCHANNEL), the host's channel still open.
          expect(postMessages(after)).toBe(0);
          expect(after.log.map((l) => l.line)).toContain(
            'vmbus: resumed the VMBus 5.3 connection, echo channel relid 1 still open',
          );
          const server = vmbusHostState(vm.partition).server;
          expect(server.channels.get(1)?.state).toBe('open');
        }
      } finally {
        vm.close();
      }
    },
    120_000,
  );

  it('every workload at once on 4 vCPUs, seeded: the restored run replays the same way and passes', async () => {
    const options = { guest: guestImageUrl(), seed: 11, args: { 'vmbus-packets': String(PACKETS) } };
    const first = createVm({ vcpus: 4 });
    expect((await runGuest(first, options)).failures).toEqual([]);
    const snapshot = JSON.parse(JSON.stringify(first.save())) as unknown;
    first.close();
    const runs: RunResult[] = [];
    for (let i = 0; i < 2; i++) {
      const vm = restoreVm(snapshot);
      try {
        runs.push(await runGuest(vm, { ...options, timeoutMs: 60_000 }));
        expect(vm.takeDiagnostics()).toEqual([]);
      } finally {
        vm.close();
      }
    }
    const [after, again] = runs as [RunResult, RunResult];
    expect(after.failures).toEqual([]);
    const k = kernel(after);
    expect(k.every((cpu) => cpu.ringIpi && cpu.tlb.shootdowns > 0)).toBe(true);
    expect(k[1]!.vtl).toEqual({ role: 'vtl1', vtls: [1, 0] });
    expect(k[0]!.vmbus).toMatchObject({ answers: PACKETS });
    // Same snapshot, same seed: the same run.
    expect(again.log).toEqual(after.log);
    expect(again.hypercalls).toBe(after.hypercalls);
  }, 120_000);

  it('an isolation VM: the channel over shared rings and the bounce pool is taken over as it is', async () => {
    const first = createVm({ ...vmOptions('isolation') });
    expect((await run(first, 'vmbus', 3)).failures).toEqual([]);
    const snapshot = JSON.parse(JSON.stringify(first.save())) as unknown;
    first.close();
    const vm = restoreVm(snapshot);
    try {
      const after = await run(vm, 'vmbus', 3);
      expect(after.failures).toEqual([]);
      expect(vm.takeDiagnostics()).toEqual([]);
      expect(kernel(after)[0]!.vmbus).toMatchObject({ answers: PACKETS, bounced: PACKETS / 4 });
      // Nothing made host-visible again: the rings, monitor pages and pool still are.
      expect(after.events.filter((e) => e.kind === 'isolation' && e.what === 'visibility-changed')).toEqual(
        [],
      );
      expect(postMessages(after)).toBe(0);
    } finally {
      vm.close();
    }
  }, 120_000);

  it('a channel abandoned to a hostile host is opened again on the resumed connection', async () => {
    const hostile = (seed: number): CreateVmOptions => ({
      ...vmOptions('isolation'),
      hostileHost: { seed, rate: 0.3 },
    });
    let seed = 0;
    let first = createVm(hostile(seed));
    while (kernel(await run(first, 'vmbus', seed))[0]!.vmbus?.hostileDetected == null) {
      first.close();
      first = createVm(hostile(++seed));
    }
    const snapshot = JSON.parse(JSON.stringify(first.save())) as unknown;
    first.close();
    const vm = restoreVm(snapshot);
    try {
      const after = await run(vm, 'vmbus', seed);
      expect(after.failures).toEqual([]);
      expect(after.log.map((l) => l.line)).toContain('vmbus: resumed the VMBus 5.3 connection');
      expect(vm.takeDiagnostics().filter((d) => d.rule.includes('contact'))).toEqual([]);
      const report = kernel(after)[0]!.vmbus!;
      expect(report.hostileDetected !== null || report.answers === PACKETS).toBe(true);
    } finally {
      vm.close();
    }
  }, 120_000);

  it('a VM saved before the VMBus workload ever ran connects afresh when restored', async () => {
    const first = createVm({ vcpus: 1 });
    expect((await run(first, 'spin-wait', 1)).failures).toEqual([]);
    const snapshot = JSON.parse(JSON.stringify(first.save())) as unknown;
    first.close();
    const vm = restoreVm(snapshot);
    try {
      const after = await run(vm, 'vmbus', 1);
      expect(after.failures).toEqual([]);
      expect(vm.takeDiagnostics()).toEqual([]);
      expect(kernel(after)[0]!.vmbus).toMatchObject({ answers: PACKETS });
      expect(after.log.map((l) => l.line).some((l) => l.startsWith('vmbus: resumed'))).toBe(false);
    } finally {
      vm.close();
    }
  }, 120_000);

  it('saved and restored twice, the channel keeps echoing in order', async () => {
    let vm: Vm = createVm({ vcpus: 1 });
    for (let boot = 0; boot < 3; boot++) {
      const r = await run(vm, 'vmbus', boot);
      expect(r.failures).toEqual([]);
      expect(kernel(r)[0]!.vmbus).toMatchObject({ answers: PACKETS });
      const snapshot = JSON.parse(JSON.stringify(vm.save())) as unknown;
      vm.close();
      vm = restoreVm(snapshot);
    }
    vm.close();
  }, 120_000);
});
