import { GuestFault, GuestMemory, type HvFeatureName } from '@pvlab/hypercall';
import { type GuestProgramCpu, GuestProgramFailure } from '@pvlab/hypercall/guest';
import { partitionGuestCpu, testPartition } from '@pvlab/hypercall/testing';
import { tlbIpiExtension } from '@pvlab/tlb-ipi/host';
import { describe, expect, it } from 'vitest';
import {
  HYPERCALL_PAGE_GPA,
  KernelArgError,
  kernelLayout,
  kernelMemoryBytes,
  kernelOptionsFromArgs,
  runKernel,
  VP_INDEX_TABLE_GPA,
  WORKLOADS,
} from '../src/index.ts';

/**
 * A one-vCPU machine driven on this thread: the kernel's CPU 0 path (secondary CPUs need vCPU
 * threads; the host-emulator tests run those).
 */
function uniprocessor(drop: HvFeatureName[] = [], options: { tlbIpi?: boolean } = {}) {
  const memory = new GuestMemory(4 * 1024 * 1024);
  // The kernel enables hypercalls itself: the partition starts with them off.
  const partition = testPartition({
    memory,
    vcpus: 1,
    extensions: options.tlbIpi === true ? [tlbIpiExtension()] : [],
    drop,
    hypercallPage: false,
  });
  const direct = partitionGuestCpu(partition, 0);
  const log: string[] = [];
  const reports: Record<string, unknown> = {};
  const cpu: GuestProgramCpu = {
    index: 0,
    vcpus: 1,
    args: {},
    restored: false,
    arch: 'x64',
    smccc: () => {
      throw new GuestFault('UD', 'HVC (SMCCC) does not exist on x64');
    },
    memory,
    cpuid: (leaf) => direct.cpuid(leaf),
    readMsr: (msr) => direct.readMsr(msr),
    writeMsr: (msr, value) => direct.writeMsr(msr, value),
    hypercall: (control, inputGpa, outputGpa) => direct.hypercall(control, inputGpa, outputGpa),
    fastHypercall: (control, input) => direct.fastHypercall(control, input),
    halt() {
      const vectors = partition.interrupts.take(0);
      if (vectors.length === 0) throw new Error('halted forever: nothing can wake a lone CPU');
      return vectors;
    },
    takeInterrupts: () => partition.interrupts.take(0),
    interruptPending: () => partition.interrupts.pending(0),
    rdtsc: () => BigInt(Math.round(performance.now() * 1e6)),
    sendIpi: (target, vector) => partition.writeMsr(0, 0x830n, (BigInt(target) << 32n) | BigInt(vector)),
    pause() {},
    invlpg: (gva) => partition.invlpg(0, gva),
    flushLocalTlb: (includeGlobal) => partition.flushLocalTlb(0, includeGlobal === true),
    log: (line) => log.push(line),
    report: (key, value) => {
      reports[key] = value;
    },
    fail(message): never {
      throw new GuestProgramFailure(message);
    },
  };
  return { partition, cpu, log, reports };
}

describe('runKernel on CPU 0', () => {
  it('enables hypercalls, comes online with its VP index and runs the workload', () => {
    const { partition, cpu, log, reports } = uniprocessor();
    const report = runKernel(cpu);
    expect(partition.hypercallsEnabled).toBe(true);
    expect(partition.hypercallMsr >> 12n).toBe(HYPERCALL_PAGE_GPA >> 12n);
    expect(partition.guestOsId >> 48n).toBe(0x8100n);
    expect(report.vpIndex).toBe(0);
    expect(cpu.memory.readU32(VP_INDEX_TABLE_GPA)).toBe(0);
    expect(report.spinWaitStatuses).toEqual(Array(4).fill('HV_STATUS_SUCCESS'));
    expect(partition.vps[0]!.longSpinWaits).toBe(4);
    expect(report.ringIpi).toBe(true);
    expect(reports).toEqual({ kernel: report });
    expect(log[0]).toMatch(/^Hyper-V: detected/);
    expect(log).toContain('smp: Brought up 1 CPU');
  });

  it("the 'shared-page' layout puts the output in the second half of the input page", () => {
    const { cpu } = uniprocessor();
    const report = runKernel(cpu, { perCpuLayout: 'shared-page' });
    expect(BigInt(report.outputGpa) - BigInt(report.inputGpa)).toBe(2048n);
  });

  it('refuses to boot when the hypervisor hides the hypercall MSRs', () => {
    const { cpu } = uniprocessor(['AccessHypercallMsrs']);
    expect(() => runKernel(cpu)).toThrow(/AccessHypercallMsrs/);
  });

  it('keeps VP_INVAL when the VP_INDEX MSR is hidden', () => {
    const { cpu } = uniprocessor(['AccessVpIndex']);
    expect(runKernel(cpu).vpIndex).toBe(0xffff_ffff);
  });

  it('fails cleanly when RAM is too small for the CPUs', () => {
    const { cpu } = uniprocessor();
    expect(kernelMemoryBytes(4096)).toBeGreaterThan(cpu.memory.size);
    expect(() => runKernel({ ...cpu, vcpus: 4096 })).toThrow(GuestProgramFailure);
  });
});

describe('runKernel workloads on one CPU', () => {
  it('without the tlb-ipi hints (no such package) every IPI and shootdown is native', () => {
    const { cpu } = uniprocessor();
    const report = runKernel(cpu);
    expect(report.ipi).toEqual({ sent: 1, received: 1, stray: 0, paths: { 'native (not-recommended)': 1 } });
    expect(report.tlb).toEqual({ shootdowns: 1, paths: { 'native (not-recommended)': 1 }, served: 0 });
  });

  it('with tlb-ipi recommended: the self-IPI is 0x000B, the flush of every present CPU is 0x0002', () => {
    const { cpu, log } = uniprocessor([], { tlbIpi: true });
    const report = runKernel(cpu);
    expect(report.ipi.paths).toEqual({ HvCallSendSyntheticClusterIpi: 1 });
    expect(report.ipi.received).toBe(1);
    // The four flushes of "every other CPU" have nobody to flush; the last names every present CPU.
    expect(report.tlb.paths).toEqual({ HvCallFlushVirtualAddressSpace: 1 });
    expect(log).toContain('ipi: 1/1 workload IPIs reached their target CPU');
    expect(log.at(-1)).toBe(
      'CPU0: 4/4 long spin-wait notifications accepted, IPI ring closed, IPI rounds 1 by hypercall + 0 native, TLB shootdowns 1 by hypercall + 0 native',
    );
  });

  it('native: true keeps the hypercalls for spin-waits only', () => {
    const { cpu } = uniprocessor([], { tlbIpi: true });
    const report = runKernel(cpu, { native: true });
    expect(report.ipi.paths).toEqual({ 'native (not-recommended)': 1 });
    expect(report.tlb.paths).toEqual({ 'native (not-recommended)': 1 });
  });

  it('workloads: [] boots and does nothing else', () => {
    const { cpu, log } = uniprocessor();
    const report = runKernel(cpu, { workloads: [] });
    expect(report).toMatchObject({
      spinWaitStatuses: [],
      ringIpi: false,
      ipi: { sent: 0 },
      tlb: { shootdowns: 0 },
    });
    expect(log.at(-1)).toBe('smp: Brought up 1 CPU');
  });

  it('the kernel memory map grows with the CPUs and stays page-aligned', () => {
    for (const cpus of [1, 4, 66, 4096]) {
      const l = kernelLayout(cpus);
      expect([l.ipiTags, l.ipiStrays, l.shootdown, l.end].every((gpa) => gpa % 4096n === 0n)).toBe(true);
      expect(l.ipiTags).toBeLessThan(l.ipiStrays);
      expect(kernelMemoryBytes(cpus)).toBe(Number(l.end));
    }
  });
});

describe('kernelOptionsFromArgs (--guest-arg key=value)', () => {
  it.each([
    [{}, {}],
    [{ workload: 'all' }, { workloads: WORKLOADS }],
    [{ workload: 'none' }, { workloads: [] }],
    [{ workload: 'ipi,tlb' }, { workloads: ['ipi', 'tlb'] }],
    [{ 'vp-index-bug': '1' }, { vpIndexBug: 'inval' }],
    [{ 'vp-index-bug': '0' }, { vpIndexBug: 'none' }],
    [{ 'vp-index-bug': 'stale-zero' }, { vpIndexBug: 'stale-zero' }],
    [{ native: '1' }, { native: true }],
    [{ 'per-cpu-layout': 'shared-page' }, { perCpuLayout: 'shared-page' }],
  ])('%j → %j', (args, options) => {
    expect(kernelOptionsFromArgs(args)).toEqual(options);
  });

  it.each([
    [{ workload: 'ipi,bogus' }, "--guest-arg workload=ipi,bogus: use 'all', 'none' or a comma list of"],
    [{ 'vp-index-bug': 'yes' }, '--guest-arg vp-index-bug=yes: use 0, 1'],
    [{ native: 'true' }, '--guest-arg native=true: use 0 or 1'],
    [{ bogus: '1' }, '--guest-arg bogus: unknown option; the guest-emulator takes workload, vp-index-bug'],
  ])('%j is refused', (args, message) => {
    expect(() => kernelOptionsFromArgs(args)).toThrow(KernelArgError);
    expect(() => kernelOptionsFromArgs(args)).toThrow(message);
  });
});
