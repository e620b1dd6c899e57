/**
 * Test fixtures: a partition built directly from `HvPartition` with the isolation extension
 * (no createVm: the package must not depend on the host-emulator app), a guest CPU over it, and
 * raw-call helpers that lay input lists out at INPUT_GPA.
 */
import { type GuestMemory, HvCallCode, type HvFeatureName, type HvStatusCode } from '@pvlab/hypercall';
import type { GuestCpu, GuestHypercalls } from '@pvlab/hypercall/guest';
import type { HvPartition } from '@pvlab/hypercall/host';
import {
  INPUT_GPA,
  partitionGuest,
  partitionGuestCpu,
  rawCall,
  testPartition,
} from '@pvlab/hypercall/testing';
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
export { INPUT_GPA, OUTPUT_GPA } from '@pvlab/hypercall/testing';
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
    this.partition = testPartition({
      ramBytes,
      vendor: 'amd',
      extensions: [ext],
      drop,
      maxRepsPerCall,
      extraCpuidLeaves: ext.cpuidLeaves,
    });
    this.state = isolationHostState(this.partition);
    this.state.onEvent((e) => this.events.push(e));
  }

  get ram(): GuestMemory {
    return this.partition.memory;
  }

  /** A call from VP 0 with `slots` as the input list at INPUT_GPA (RDX = `inputGpa`). */
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
    const r = rawCall(this.partition, 0, control, slots, { rdx: inputGpa });
    return { status: r.status, reps: r.repsCompleted };
  }

  /** The guest's CPU 0 (its memory is the isolated view). */
  cpu(): GuestCpu {
    return partitionGuestCpu(this.partition, 0);
  }

  /** Linux-style hypercall helpers for CPU 0, input/output pages private at INPUT_GPA/OUTPUT_GPA. */
  hypercalls(): GuestHypercalls {
    return partitionGuest(this.partition, 0, { memory: this.state.guestMemory }).hypercalls;
  }

  /** Sets page visibilities directly (test setup, bypassing the hypercall). */
  setVisibility(pfns: readonly number[], visibility: 0 | 1 | 3): void {
    for (const pfn of pfns) this.state.visibility.set(pfn, visibility);
  }
}

export const MODIFY = HvCallCode.HvCallModifySparseGpaPageHostVisibility;
export const QUERY = HvCallCode.HvCallQuerySparseGpaPageHostVisibility;
export const SELF = 0xffff_ffff_ffff_ffffn;

/** `g` as hex, for case names. */
export const hex = (v: bigint | number) => `0x${v.toString(16)}`;
