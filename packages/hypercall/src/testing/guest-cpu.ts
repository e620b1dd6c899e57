import type { GuestContext, GuestCpu } from '../guest/cpu.js';
import { GuestHypercalls, type PerCpuPageLayout, perCpuHypercallPages } from '../guest/hypercalls.js';
import type { HvPartition } from '../host/partition.js';
import type { GuestPhysicalMemory } from '../memory.js';
import type { CpuidResult } from '../wire/cpuid.js';
import { INPUT_GPA, OUTPUT_GPA } from './constants.js';

/** A `GuestCpu` over one VP of a partition, counting the VMCALLs it executes. */
export interface PartitionGuestCpu extends GuestCpu {
  /** The VP it drives. */
  readonly vp: number;
  /** VMCALLs executed so far, memory and fast form. */
  readonly vmcalls: number;
}

class DirectCpu implements PartitionGuestCpu {
  readonly #partition: HvPartition;
  readonly vp: number;
  vmcalls = 0;

  constructor(partition: HvPartition, vp: number) {
    this.#partition = partition;
    this.vp = partition.vp(vp).index;
  }

  cpuid(leaf: number): CpuidResult {
    return this.#partition.cpuid(leaf);
  }
  readMsr(msr: bigint): bigint {
    return this.#partition.readMsr(this.vp, msr);
  }
  writeMsr(msr: bigint, value: bigint): void {
    this.#partition.writeMsr(this.vp, msr, value);
  }
  hypercall(control: bigint, inputGpa: bigint, outputGpa: bigint): bigint {
    this.vmcalls++;
    const regs = this.#partition.vp(this.vp).registers;
    regs.control = control;
    regs.rdx = inputGpa;
    regs.r8 = outputGpa;
    return this.#partition.hypercall(this.vp, regs);
  }
  fastHypercall(control: bigint, input: readonly bigint[]): { result: bigint; output: bigint[] } {
    this.vmcalls++;
    const regs = this.#partition.vp(this.vp).registers;
    if (input.length > regs.fastSlotCount) {
      throw new RangeError(
        `fastHypercall takes at most ${regs.fastSlotCount} input values (RDX, R8, XMM0..XMM5); got ${input.length}`,
      );
    }
    regs.control = control;
    regs.loadSlots(input);
    const result = this.#partition.hypercall(this.vp, regs);
    const output = Array.from({ length: regs.fastOutputSlots }, (_, i) =>
      regs.readFastSlot(regs.fastOutputFirstSlot + i),
    );
    return { result, output };
  }
}

/**
 * A guest vCPU over VP `vp`: CPUID, RDMSR/WRMSR and VMCALL go straight to the partition, through
 * the VP's own register file as createVm's VPs do (so XMM output survives a continuation).
 */
export function partitionGuestCpu(partition: HvPartition, vp: number): PartitionGuestCpu {
  return new DirectCpu(partition, vp);
}

/** Where a `partitionGuest`'s per-CPU hypercall pages lie, and which memory the guest sees. */
export interface PartitionGuestOptions {
  /** The guest's view of memory (default the partition's RAM; an isolated guest passes its own). */
  readonly memory?: GuestPhysicalMemory;
  /** Default `'separate'`. */
  readonly layout?: PerCpuPageLayout;
  /** The input page (default `INPUT_GPA`). */
  readonly inputGpa?: bigint;
  /** The output page with the `'separate'` layout (default `OUTPUT_GPA`). */
  readonly outputGpa?: bigint;
}

/** A guest CPU on VP `vp`, its context, and Linux-style hypercall helpers with per-CPU pages. */
export function partitionGuest(
  partition: HvPartition,
  vp: number,
  options: PartitionGuestOptions = {},
): { cpu: PartitionGuestCpu; ctx: GuestContext; hypercalls: GuestHypercalls } {
  const cpu = partitionGuestCpu(partition, vp);
  const ctx: GuestContext = { cpu, memory: options.memory ?? partition.memory };
  const layout = options.layout ?? 'separate';
  const pages = perCpuHypercallPages(layout, options.inputGpa ?? INPUT_GPA, options.outputGpa ?? OUTPUT_GPA);
  return { cpu, ctx, hypercalls: new GuestHypercalls(ctx, pages) };
}
