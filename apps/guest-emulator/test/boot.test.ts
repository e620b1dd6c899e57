import { GuestMemory, type HvFeatureName } from '@pvlab/hypercall';
import type { GuestContext } from '@pvlab/hypercall/guest';
import {
  CORE_FEATURES,
  DEFAULT_SPIN_WAIT_RETRY_COUNT,
  HvPartition,
  X64HypercallRegisters,
} from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { bootGuest } from '../src/index.ts';

/** A partition with the core only, and one GuestContext per VP driving it directly. */
function machine(vcpus: number, drop: HvFeatureName[] = []) {
  const memory = new GuestMemory(8 * 1024 * 1024);
  const partition = new HvPartition({
    memory,
    vcpus,
    vendor: 'intel',
    features: CORE_FEATURES.filter((f) => !drop.includes(f)),
    spinWaitRetryCount: DEFAULT_SPIN_WAIT_RETRY_COUNT,
    physicalAddressBits: 48,
    maxRepsPerCall: 0xfff,
    extensions: [],
  });
  const cpus: GuestContext[] = partition.vps.map((vp) => {
    const regs = new X64HypercallRegisters();
    return {
      memory,
      cpu: {
        cpuid: (leaf) => partition.cpuid(leaf),
        readMsr: (msr) => partition.readMsr(vp.index, msr),
        writeMsr: (msr, value) => partition.writeMsr(vp.index, msr, value),
        hypercall(control, inputGpa, outputGpa) {
          regs.control = control;
          regs.rdx = inputGpa;
          regs.r8 = outputGpa;
          return partition.hypercall(vp.index, regs);
        },
        fastHypercall(control, input) {
          regs.control = control;
          regs.loadSlots(input);
          return { result: partition.hypercall(vp.index, regs), output: [] };
        },
      },
    };
  });
  return { partition, cpus };
}

describe('bootGuest', () => {
  it('enables the hypercall page, brings every CPU online with its VP index and runs the workload', () => {
    const { partition, cpus } = machine(4);
    const report = bootGuest(cpus);
    expect(partition.hypercallsEnabled).toBe(true);
    expect(partition.guestOsId >> 48n).toBe(0x8100n);
    expect(report.cpus.map((c) => c.vpIndex)).toEqual([0, 1, 2, 3]);
    for (const c of report.cpus) expect(c.spinWaitStatuses).toEqual(Array(4).fill('HV_STATUS_SUCCESS'));
    expect(partition.vps.map((vp) => vp.longSpinWaits)).toEqual([4, 4, 4, 4]);
    // Every CPU has its own input and output pages.
    const pages = report.cpus.flatMap((c) => [c.inputGpa, c.outputGpa]);
    expect(new Set(pages).size).toBe(8);
    expect(report.log[0]).toMatch(/^Hyper-V: detected/);
    expect(report.log).toContain('CPU3: online, VP index 3, input page 0x107000, output page 0x108000');
  });

  it("with the 'shared-page' layout the output area is the second half of the input page", () => {
    const { cpus } = machine(2);
    const report = bootGuest(cpus, { perCpuLayout: 'shared-page' });
    for (const c of report.cpus) expect(c.outputGpa - c.inputGpa).toBe(2048n);
  });

  it('refuses to boot when the hypervisor hides the hypercall MSRs', () => {
    const { cpus } = machine(1, ['AccessHypercallMsrs']);
    expect(() => bootGuest(cpus)).toThrow(/AccessHypercallMsrs/);
  });

  it('leaves VP indexes unknown (VP_INVAL) when the VP_INDEX MSR is hidden', () => {
    const { cpus } = machine(2, ['AccessVpIndex']);
    expect(bootGuest(cpus).cpus.map((c) => c.vpIndex)).toEqual([0xffff_ffff, 0xffff_ffff]);
  });

  it('streams the log through the callback', () => {
    const { cpus } = machine(1);
    const lines: string[] = [];
    const report = bootGuest(cpus, { log: (l) => lines.push(l) });
    expect(lines).toEqual(report.log);
  });
});
