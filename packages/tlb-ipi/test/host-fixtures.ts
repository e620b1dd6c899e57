/**
 * Host-side test fixtures: a partition built directly from `HvPartition` with the tlb-ipi
 * extension installed (no createVm: the package must not depend on the host-emulator app),
 * input builders in the spec's slot layout, and TLB/interrupt snapshots of every VP.
 */
import type { HvFeatureName, HvStatusCode } from '@pvlab/hypercall';
import { HvCallCode } from '@pvlab/hypercall';
import type { HvPartition, X64HypercallRegisters } from '@pvlab/hypercall/host';
import { INPUT_GPA, rawCall, testPartition } from '@pvlab/hypercall/testing';
import { expect } from 'vitest';
import {
  type TlbFlushMode,
  type TlbIpiHostState,
  tlbIpiExtension,
  tlbIpiHostState,
} from '../src/host/index.ts';
import { VpIndexSet, vpSetBytes, writeSparseVpSet } from '../src/wire/vp-set.ts';

export { INPUT_GPA, OUTPUT_GPA } from '@pvlab/hypercall/testing';

/** Three banks of VPs: VP 2 (bank 0), VP 65 (bank 1) and VPs beyond, up to 129 (bank 2). */
export const VCPUS = 130;
/** The targets across the 64-VP bank boundary, as in KVM's hyperv_tlb_flush/hyperv_ipi selftests. */
export const VP_A = 2;
export const VP_B = 65;

/** The calling conventions a case runs under. */
export type Form = 'memory' | 'fast';
export const FORMS: readonly Form[] = ['memory', 'fast'];

export interface TestVmOptions {
  vcpus?: number;
  /** Feature bits removed from the defaults (core + tlb-ipi). */
  drop?: readonly HvFeatureName[];
  flush?: TlbFlushMode;
  maxRepsPerCall?: number;
}

/** A partition with the tlb-ipi extension and hypercalls enabled, and helpers to call it. */
export class TestVm {
  readonly partition: HvPartition;
  readonly state: TlbIpiHostState;
  /** Every interrupt delivered, in order, as the threaded host's wake listener sees it. */
  readonly woken: [vp: number, vector: number][] = [];

  constructor(options: TestVmOptions = {}) {
    this.partition = testPartition({
      vcpus: options.vcpus ?? VCPUS,
      extensions: [tlbIpiExtension(options.flush === undefined ? {} : { flush: options.flush })],
      drop: options.drop ?? [],
      maxRepsPerCall: options.maxRepsPerCall ?? 0xfff,
    });
    this.state = tlbIpiHostState(this.partition);
    this.partition.onInterrupt((vp, vector) => this.woken.push([vp, vector]));
  }

  get vcpus(): number {
    return this.partition.vps.length;
  }

  /**
   * Issues a call from VP `vp`: memory form writes `slots` at INPUT_GPA (the memory layout), fast
   * form loads them into RDX, R8, XMM0.lo, … (spec 01 rule 11: the same bytes, cut into slots).
   */
  call(
    form: Form,
    vp: number,
    control: ControlSpec,
    slots: readonly bigint[],
    inputGpa = INPUT_GPA,
  ): Outcome {
    const r = rawCall(this.partition, vp, { ...control, fast: form === 'fast' }, slots, { rdx: inputGpa });
    return { status: r.status, reps: r.repsCompleted, regs: r.regs };
  }

  /** Fills every VP's TLB with the standard entries (see `STANDARD_ENTRIES`). */
  fillAll(): void {
    for (const vp of this.partition.vps) {
      for (const e of STANDARD_ENTRIES) {
        vp.tlb.fill(e.gva, e.gva + 0x1_0000_0000n, {
          addressSpace: e.space === 'G' ? 0n : e.space === 'A' ? SPACE_A : SPACE_B,
          global: e.space === 'G',
        });
      }
    }
  }

  /** Every VP's TLB contents and pending vectors, for before/after comparisons. */
  snapshot(): VmSnapshot {
    return this.partition.vps.map((vp) => ({
      tlb: vp.tlb
        .entries()
        .map((e) => entryKey(e.global ? 'G' : e.addressSpace === SPACE_A ? 'A' : 'B', e.gva))
        .sort(),
      vectors: this.partition.interrupts.peek(vp.index),
    }));
  }
}

/** A VP's TLB (as sorted `space:gva` keys) and its pending vectors. */
export interface VpSnapshot {
  readonly tlb: string[];
  readonly vectors: number[];
}
export type VmSnapshot = VpSnapshot[];

/** The control fields a case sets (Fast comes from the form). */
export interface ControlSpec {
  callCode: number;
  variableHeaderSize?: number;
  repCount?: number;
  repStartIndex?: number;
}

/** A call's status and RepsCompleted, and the registers it ran with. */
export interface Outcome {
  readonly status: HvStatusCode;
  readonly reps: number;
  readonly regs: X64HypercallRegisters;
}

/** Two address spaces (CR3 values without flag bits). */
export const SPACE_A = 0x0001_2000n;
export const SPACE_B = 0x0003_4000n;

/** What every VP caches before a flush: pages in A, in B, and global ones. */
export const STANDARD_ENTRIES: readonly { space: 'A' | 'B' | 'G'; gva: bigint }[] = [
  { space: 'A', gva: 0x10_0000n },
  { space: 'A', gva: 0x10_1000n },
  { space: 'A', gva: 0x10_2000n },
  { space: 'A', gva: 0x40_0000n },
  { space: 'B', gva: 0x10_0000n },
  { space: 'B', gva: 0x10_1000n },
  { space: 'B', gva: 0x40_0000n },
  { space: 'G', gva: 0x80_0000n },
  { space: 'G', gva: 0x80_1000n },
];

/** `A:100000`: the key of one TLB entry in a snapshot. */
export function entryKey(space: 'A' | 'B' | 'G', gva: bigint): string {
  return `${space}:${gva.toString(16)}`;
}

/** The standard entries minus those `removed` says go. */
export function standardKeysWithout(removed: (space: 'A' | 'B' | 'G', gva: bigint) => boolean): string[] {
  return STANDARD_ENTRIES.filter((e) => !removed(e.space, e.gva))
    .map((e) => entryKey(e.space, e.gva))
    .sort();
}

/** The bank contents (compact layout) and ValidBanksMask of a set of VPs, via the wire encoder. */
export function sparseBanks(vps: readonly number[]): { mask: bigint; banks: bigint[] } {
  const view = new DataView(new ArrayBuffer(vpSetBytes(64)));
  const n = writeSparseVpSet(view, 0, VpIndexSet.of(...vps));
  return {
    mask: view.getBigUint64(8, true),
    banks: Array.from({ length: n }, (_, i) => view.getBigUint64(16 + 8 * i, true)),
  };
}

/** A 64-bit ProcessorMask of VPs 0–63. */
export function processorMask(vps: readonly number[]): bigint {
  return vps.reduce((m, vp) => m | (1n << BigInt(vp)), 0n);
}

/**
 * Asserts that exactly the VPs in `changed` differ between two snapshots, and that every other
 * VP's TLB and pending interrupts are untouched (the KVM selftests' "and nobody else" check).
 */
export function expectOnlyChanged(before: VmSnapshot, after: VmSnapshot, changed: readonly number[]): void {
  const set = new Set(changed);
  const untouched: number[] = [];
  const differ: number[] = [];
  before.forEach((b, vp) => {
    const same = JSON.stringify(b) === JSON.stringify(after[vp]);
    if (set.has(vp) && same) untouched.push(vp);
    if (!set.has(vp) && !same) differ.push(vp);
  });
  expect({ targetsUnchanged: untouched, nonTargetsChanged: differ }).toEqual({
    targetsUnchanged: [],
    nonTargetsChanged: [],
  });
}

/** Asserts that nothing changed on any VP. */
export function expectNothingChanged(before: VmSnapshot, after: VmSnapshot): void {
  expectOnlyChanged(before, after, []);
}

/**
 * Rows for `it.each(titled(rows, title))('%s', (_title, row) => …)`: vitest cuts `$field` titles
 * at 40 characters, so titles that quote spec rules are built whole.
 */
export function titled<T>(rows: readonly T[], title: (row: T) => string): [string, T][] {
  return rows.map((row) => [title(row), row]);
}

/** A call as a test issues it: control fields and the input in 8-byte slots. */
export interface Req {
  readonly control: ControlSpec;
  readonly slots: readonly bigint[];
}

/** The processor-mask flush input (0x0002/0x0003): AddressSpace, Flags, ProcessorMask. */
export interface MaskFlushArgs {
  space?: bigint;
  flags?: bigint;
  mask?: bigint;
}

/** The HV_VP_SET flush input (0x0013/0x0014); `vps` builds Format 0 with compact banks. */
export interface SetArgs {
  vps?: readonly number[];
  format?: bigint;
  /** Overrides the ValidBanksMask (and, with `banks`, the banks) built from `vps`. */
  mask?: bigint;
  banks?: readonly bigint[];
  /** Overrides VariableHeaderSize (default: the bank count). */
  varHdr?: number;
}

function vpSetSlots(a: SetArgs): { slots: bigint[]; varHdr: number } {
  const built = sparseBanks(a.vps ?? []);
  const mask = a.mask ?? built.mask;
  const banks = a.banks ?? built.banks;
  return { slots: [a.format ?? 0n, mask, ...banks], varHdr: a.varHdr ?? banks.length };
}

/** HvCallFlushVirtualAddressSpace (0x0002). */
export function flushSpaceReq(a: MaskFlushArgs = {}, control: Partial<ControlSpec> = {}): Req {
  return {
    control: { callCode: HvCallCode.HvCallFlushVirtualAddressSpace, ...control },
    slots: [a.space ?? SPACE_A, a.flags ?? 0n, a.mask ?? 0n],
  };
}

/** HvCallFlushVirtualAddressList (0x0003) with `ranges` as its rep elements. */
export function flushListReq(
  a: MaskFlushArgs,
  ranges: readonly bigint[],
  control: Partial<ControlSpec> = {},
): Req {
  return {
    control: { callCode: HvCallCode.HvCallFlushVirtualAddressList, repCount: ranges.length, ...control },
    slots: [a.space ?? SPACE_A, a.flags ?? 0n, a.mask ?? 0n, ...ranges],
  };
}

/** HvCallFlushVirtualAddressSpaceEx (0x0013). */
export function flushSpaceExReq(
  a: { space?: bigint; flags?: bigint } & SetArgs = {},
  control: Partial<ControlSpec> = {},
): Req {
  const set = vpSetSlots(a);
  return {
    control: {
      callCode: HvCallCode.HvCallFlushVirtualAddressSpaceEx,
      variableHeaderSize: set.varHdr,
      ...control,
    },
    slots: [a.space ?? SPACE_A, a.flags ?? 0n, ...set.slots],
  };
}

/** HvCallFlushVirtualAddressListEx (0x0014) with `ranges` after the banks. */
export function flushListExReq(
  a: { space?: bigint; flags?: bigint } & SetArgs,
  ranges: readonly bigint[],
  control: Partial<ControlSpec> = {},
): Req {
  const set = vpSetSlots(a);
  return {
    control: {
      callCode: HvCallCode.HvCallFlushVirtualAddressListEx,
      variableHeaderSize: set.varHdr,
      repCount: ranges.length,
      ...control,
    },
    slots: [a.space ?? SPACE_A, a.flags ?? 0n, ...set.slots, ...ranges],
  };
}

/** HvCallSendSyntheticClusterIpi (0x000B): Vector, bytes 4–7 (TargetVtl, flags, reserved), ProcessorMask. */
export function ipiReq(
  a: { vector: number; vtlBytes?: number; mask?: bigint },
  control: Partial<ControlSpec> = {},
): Req {
  return {
    control: { callCode: HvCallCode.HvCallSendSyntheticClusterIpi, ...control },
    slots: [BigInt(a.vector >>> 0) | (BigInt(a.vtlBytes ?? 0) << 32n), a.mask ?? 0n],
  };
}

/** HvCallSendSyntheticClusterIpiEx (0x0015): Vector, bytes 4–7, then the HV_VP_SET. */
export function ipiExReq(
  a: { vector: number; vtlBytes?: number } & SetArgs,
  control: Partial<ControlSpec> = {},
): Req {
  const set = vpSetSlots(a);
  return {
    control: {
      callCode: HvCallCode.HvCallSendSyntheticClusterIpiEx,
      variableHeaderSize: set.varHdr,
      ...control,
    },
    slots: [BigInt(a.vector >>> 0) | (BigInt(a.vtlBytes ?? 0) << 32n), ...set.slots],
  };
}

/** Issues `req` from VP 0 (or `vp`) in `form`. */
export function issue(vm: TestVm, form: Form, req: Req, vp = 0, inputGpa = INPUT_GPA): Outcome {
  return vm.call(form, vp, req.control, req.slots, inputGpa);
}
