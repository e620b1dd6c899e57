/**
 * Test fixtures: a partition built directly from `HvPartition` with the isolation extension
 * (no createVm: the package must not depend on the host-emulator app), a guest CPU over it, and
 * raw-call helpers that lay input lists out at INPUT_GPA.
 */
import {
  type CpuidResult,
  decodeHypercallResult,
  encodeHypercallControl,
  GuestMemory,
  HV_X64_MSR_GUEST_OS_ID,
  HV_X64_MSR_HYPERCALL,
  type HvFeatureName,
  type HvStatusCode,
} from '@pvlab/hypercall';
import { type GuestCpu, GuestHypercalls, perCpuHypercallPages } from '@pvlab/hypercall/guest';
import { CORE_FEATURES, HvPartition, X64HypercallRegisters } from '@pvlab/hypercall/host';
import {
  type IsolationEvent,
  type IsolationHostState,
  type IsolationOptions,
  isolationExtension,
  isolationHostState,
} from '../src/host/index.ts';

/** 1 MiB of RAM = 256 pages; boundary 1 << 36 unless a case says otherwise. */
export const RAM_BYTES = 0x10_0000;
export const RAM_PAGES = RAM_BYTES / 4096;
export const BOUNDARY_BITS = 36;
export const BOUNDARY = 1n << 36n;
export const HYPERCALL_PAGE_GPA = 0x1000n;
export const INPUT_GPA = 0x2000n;
export const OUTPUT_GPA = 0x3000n;
/** Pages from here on are free for the tests' buffers. */
export const FIRST_FREE_PFN = 0x10n;

export interface TestVmOptions extends Partial<IsolationOptions> {
  /** Feature bits removed from the defaults (core + isolation). */
  readonly drop?: readonly HvFeatureName[];
  readonly maxRepsPerCall?: number;
  readonly ramBytes?: number;
}

/** A partition with the isolation extension and hypercalls enabled. */
export class TestVm {
  readonly partition: HvPartition;
  readonly state: IsolationHostState;
  readonly events: IsolationEvent[] = [];

  constructor(options: TestVmOptions = {}) {
    const { drop = [], maxRepsPerCall = 0xfff, ramBytes = RAM_BYTES, ...iso } = options;
    const ext = isolationExtension({ sharedGpaBoundaryBits: BOUNDARY_BITS, ...iso });
    const dropped = new Set(drop);
    this.partition = new HvPartition({
      memory: new GuestMemory(ramBytes),
      vcpus: 2,
      vendor: 'amd',
      features: [...CORE_FEATURES, ...ext.features].filter((f) => !dropped.has(f)),
      spinWaitRetryCount: 0xfff,
      physicalAddressBits: 48,
      maxRepsPerCall,
      extensions: [ext],
      extraCpuidLeaves: ext.cpuidLeaves,
    });
    this.state = isolationHostState(this.partition);
    this.state.onEvent((e) => this.events.push(e));
    this.partition.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, 0x8100n << 48n);
    this.partition.writeMsr(0, HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA | 1n);
  }

  get ram(): GuestMemory {
    return this.partition.memory;
  }

  /** A memory-form call from VP 0 with `slots` as the input list at INPUT_GPA. */
  call(
    control: {
      callCode: number;
      repCount?: number;
      repStartIndex?: number;
      variableHeaderSize?: number;
      fast?: boolean;
    },
    slots: readonly bigint[],
    inputGpa = INPUT_GPA,
  ): { status: HvStatusCode; reps: number } {
    for (const [i, v] of slots.entries()) this.ram.writeU64(INPUT_GPA + BigInt(8 * i), v);
    const regs = new X64HypercallRegisters();
    regs.control = encodeHypercallControl(control);
    if (control.fast === true) regs.loadSlots(slots);
    else {
      regs.rdx = inputGpa;
      regs.r8 = OUTPUT_GPA;
    }
    const r = decodeHypercallResult(this.partition.hypercall(0, regs));
    return { status: r.status, reps: r.repsCompleted };
  }

  /** The guest's CPU 0 (its memory is the isolated view). */
  cpu(): GuestCpu {
    const p = this.partition;
    return {
      cpuid: (leaf: number): CpuidResult => p.cpuid(leaf),
      readMsr: (msr) => p.readMsr(0, msr),
      writeMsr: (msr, value) => p.writeMsr(0, msr, value),
      hypercall(control, inputGpa, outputGpa) {
        const regs = new X64HypercallRegisters();
        regs.control = control;
        regs.rdx = inputGpa;
        regs.r8 = outputGpa;
        return p.hypercall(0, regs);
      },
      fastHypercall(control, input) {
        const regs = new X64HypercallRegisters();
        regs.control = control;
        regs.loadSlots(input);
        const result = p.hypercall(0, regs);
        const output: bigint[] = [];
        for (let i = 0; i < regs.fastOutputSlots; i++)
          output.push(regs.readFastSlot(regs.fastOutputFirstSlot + i));
        return { result, output };
      },
    };
  }

  /** Linux-style hypercall helpers for CPU 0, input/output pages private at INPUT_GPA/OUTPUT_GPA. */
  hypercalls(): GuestHypercalls {
    return new GuestHypercalls(
      { cpu: this.cpu(), memory: this.state.guestMemory },
      perCpuHypercallPages('separate', INPUT_GPA, OUTPUT_GPA),
    );
  }

  /** Sets page visibilities directly (test setup, bypassing the hypercall). */
  setVisibility(pfns: readonly number[], visibility: 0 | 1 | 3): void {
    for (const pfn of pfns) this.state.visibility.set(pfn, visibility);
  }
}

export const MODIFY = 0x00db;
export const QUERY = 0x011c;
export const SELF = 0xffff_ffff_ffff_ffffn;

/** `g` as hex, for case names. */
export const hex = (v: bigint | number) => `0x${v.toString(16)}`;
