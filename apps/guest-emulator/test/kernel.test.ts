import { GuestMemory, type HvFeatureName } from '@pvlab/hypercall';
import { type GuestProgramCpu, GuestProgramFailure } from '@pvlab/hypercall/guest';
import {
  CORE_FEATURES,
  DEFAULT_SPIN_WAIT_RETRY_COUNT,
  HvPartition,
  X64HypercallRegisters,
} from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { HYPERCALL_PAGE_GPA, kernelMemoryBytes, runKernel, VP_INDEX_TABLE_GPA } from '../src/index.ts';

/**
 * A one-vCPU machine driven on this thread: the kernel's CPU 0 path (secondary CPUs need vCPU
 * threads; the host-emulator tests run those).
 */
function uniprocessor(drop: HvFeatureName[] = []) {
  const memory = new GuestMemory(4 * 1024 * 1024);
  const partition = new HvPartition({
    memory,
    vcpus: 1,
    vendor: 'intel',
    features: CORE_FEATURES.filter((f) => !drop.includes(f)),
    spinWaitRetryCount: DEFAULT_SPIN_WAIT_RETRY_COUNT,
    physicalAddressBits: 48,
    maxRepsPerCall: 0xfff,
    extensions: [],
  });
  const regs = new X64HypercallRegisters();
  const log: string[] = [];
  const reports: Record<string, unknown> = {};
  const cpu: GuestProgramCpu = {
    index: 0,
    vcpus: 1,
    args: {},
    memory,
    cpuid: (leaf) => partition.cpuid(leaf),
    readMsr: (msr) => partition.readMsr(0, msr),
    writeMsr: (msr, value) => partition.writeMsr(0, msr, value),
    hypercall(control, inputGpa, outputGpa) {
      regs.control = control;
      regs.rdx = inputGpa;
      regs.r8 = outputGpa;
      return partition.hypercall(0, regs);
    },
    fastHypercall(control, input) {
      regs.control = control;
      regs.loadSlots(input);
      return { result: partition.hypercall(0, regs), output: [] };
    },
    halt() {
      const vectors = partition.interrupts.take(0);
      if (vectors.length === 0) throw new Error('halted forever: nothing can wake a lone CPU');
      return vectors;
    },
    takeInterrupts: () => partition.interrupts.take(0),
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
