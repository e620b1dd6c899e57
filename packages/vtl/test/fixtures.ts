/**
 * Test fixtures: a partition built from `HvPartition` with tlb-ipi and vtl installed (no
 * createVm: packages must not depend on the host-emulator app), and input builders in the
 * spec's byte layouts.
 */
import { HV_XMM_FAST_BYTES, HvCallCode, type HvFeatureName, type HvStatusCode } from '@pvlab/hypercall';
import {
  CORE_FEATURES,
  type HostExtension,
  type HvPartition,
  type X64HypercallRegisters,
} from '@pvlab/hypercall/host';
import { OUTPUT_GPA, partitionGuest, rawCall, testPartition } from '@pvlab/hypercall/testing';
import { TLB_IPI_FEATURES, tlbIpiExtension } from '@pvlab/tlb-ipi/host';
import {
  VTL_FEATURES,
  type VtlEvent,
  type VtlHostOptions,
  type VtlHostState,
  vtlExtension,
  vtlHostState,
} from '../src/host/index.ts';
import { HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF } from '../src/wire/ids.ts';
import {
  GetVpRegistersInput,
  getVpRegistersInputBytes,
  SetVpRegistersInputElement,
  writeRegisterValue,
} from '../src/wire/vp-registers.ts';

/** The calling conventions a case runs under. */
export type Form = 'memory' | 'fast';
export const FORMS: readonly Form[] = ['memory', 'fast'];

export interface TestVmOptions {
  vcpus?: number;
  drop?: readonly HvFeatureName[];
  maxRepsPerCall?: number;
  vtl?: VtlHostOptions;
  /** Install order: tlb-ipi first (default), vtl first, or no tlb-ipi. */
  order?: 'tlb-ipi-first' | 'vtl-first' | 'vtl-only';
}

/** A call's status and RepsCompleted. */
export interface Outcome {
  readonly status: HvStatusCode;
  readonly reps: number;
  readonly regs: X64HypercallRegisters;
}

/** The Get/Set header fields a case sets (defaults SELF/SELF/current VTL). */
export interface Header {
  partitionId?: bigint;
  vpIndex?: number;
  inputVtl?: number;
  /** Raw bytes 13–15. */
  reserved?: number;
}

/** A partition with tlb-ipi and vtl installed, hypercalls enabled, and call helpers. */
export class TestVm {
  readonly partition: HvPartition;
  readonly vtl: VtlHostState;
  readonly events: VtlEvent[] = [];
  readonly resumed: number[] = [];

  constructor(options: TestVmOptions = {}) {
    const order = options.order ?? 'tlb-ipi-first';
    const vtl = vtlExtension(options.vtl ?? {});
    const extensions: HostExtension[] =
      order === 'vtl-only'
        ? [vtl]
        : order === 'vtl-first'
          ? [vtl, tlbIpiExtension()]
          : [tlbIpiExtension(), vtl];
    // The features are the core's, tlb-ipi's and vtl's whatever the install order.
    this.partition = testPartition({
      vcpus: options.vcpus ?? 4,
      extensions,
      features: [...CORE_FEATURES, ...TLB_IPI_FEATURES, ...VTL_FEATURES],
      drop: options.drop ?? [],
      maxRepsPerCall: options.maxRepsPerCall ?? 0xfff,
    });
    this.vtl = vtlHostState(this.partition);
    this.vtl.onEvent((e) => this.events.push(e));
    this.partition.onResume((vp) => this.resumed.push(vp));
  }

  /** Issues a call from VP `vp`: `bytes` at INPUT_GPA (memory form) or cut into 8-byte slots (fast). */
  call(
    form: Form,
    vp: number,
    control: { callCode: number; repCount?: number; repStartIndex?: number },
    bytes: Uint8Array,
  ): Outcome {
    // A longer fast input is what a guest cannot pass: the registers hold its first 112 bytes.
    const input = form === 'fast' ? bytes.subarray(0, HV_XMM_FAST_BYTES) : bytes;
    const r = rawCall(this.partition, vp, { ...control, fast: form === 'fast' }, input);
    return { status: r.status, reps: r.repsCompleted, regs: r.regs };
  }

  /** The 16-byte output element `i` of the last memory-form Get (or fast output slots). */
  outputValues(form: Form, regs: X64HypercallRegisters, count: number): bigint[] {
    return Array.from({ length: count }, (_, i) => {
      if (form === 'memory') {
        const lo = this.partition.memory.readU64(OUTPUT_GPA + BigInt(16 * i));
        const hi = this.partition.memory.readU64(OUTPUT_GPA + BigInt(16 * i + 8));
        return lo | (hi << 64n);
      }
      const first = regs.fastOutputFirstSlot + 2 * i;
      return regs.readFastSlot(first) | (regs.readFastSlot(first + 1) << 64n);
    });
  }

  /** HvCallGetVpRegisters from `vp`; returns the outcome and the values written. */
  get(vp: number, names: readonly number[], header: Header = {}, form: Form = 'memory', repStartIndex = 0) {
    const out = this.call(
      form,
      vp,
      { callCode: HvCallCode.HvCallGetVpRegisters, repCount: names.length, repStartIndex },
      getInput(names, header),
    );
    return { ...out, values: this.outputValues(form, out.regs, out.reps) };
  }

  /** HvCallSetVpRegisters from `vp`. */
  set(
    vp: number,
    entries: readonly SetEntry[],
    header: Header = {},
    form: Form = 'memory',
    repStartIndex = 0,
  ): Outcome {
    return this.call(
      form,
      vp,
      { callCode: HvCallCode.HvCallSetVpRegisters, repCount: entries.length, repStartIndex },
      setInput(entries, header),
    );
  }

  /** Host-side shortcut: enable `vtl` for the partition and on every VP listed. */
  enable(vtl: number, vps: readonly number[]): void {
    this.vtl.partitionEnabledVtls |= 1 << vtl;
    for (const vp of vps) this.vtl.vp(vp).enabledVtls |= 1 << vtl;
  }

  /** Host-side shortcut: make VP `vp` run in `vtl`. */
  runIn(vp: number, vtl: number): void {
    this.vtl.vp(vp).activeVtl = vtl;
  }
}

/** One Set element: name, value and (for negative cases) the 12 RsvdZ bytes' first u32. */
export interface SetEntry {
  name: number;
  value: bigint;
  reserved?: number;
}

function writeHeader(view: DataView, h: Header): void {
  view.setBigUint64(0, h.partitionId ?? HV_PARTITION_ID_SELF, true);
  view.setUint32(8, h.vpIndex ?? HV_VP_INDEX_SELF, true);
  view.setUint8(12, h.inputVtl ?? 0);
  const r = h.reserved ?? 0;
  view.setUint8(13, r & 0xff);
  view.setUint8(14, (r >>> 8) & 0xff);
  view.setUint8(15, (r >>> 16) & 0xff);
}

/** A Get input list: header + names, padded to 8. */
export function getInput(names: readonly number[], h: Header = {}): Uint8Array {
  const bytes = new Uint8Array(getVpRegistersInputBytes(names.length));
  const view = new DataView(bytes.buffer);
  writeHeader(view, h);
  names.forEach((n, i) => {
    view.setUint32(GetVpRegistersInput.size + 4 * i, n >>> 0, true);
  });
  return bytes;
}

/** A Set input list: header + 32-byte elements. */
export function setInput(entries: readonly SetEntry[], h: Header = {}): Uint8Array {
  const bytes = new Uint8Array(GetVpRegistersInput.size + SetVpRegistersInputElement.size * entries.length);
  const view = new DataView(bytes.buffer);
  writeHeader(view, h);
  entries.forEach((e, i) => {
    const at = GetVpRegistersInput.size + SetVpRegistersInputElement.size * i;
    view.setUint32(at, e.name >>> 0, true);
    view.setUint32(at + 4, e.reserved ?? 0, true);
    writeRegisterValue(view, at + 16, e.value);
  });
  return bytes;
}

/** A guest CPU context and its hypercall helpers; pages at 0x4000 (input) and 0x5000 (output). */
export function guestOn(vm: TestVm, vp: number, layout: 'separate' | 'shared-page' = 'separate') {
  const { ctx, hypercalls } = partitionGuest(vm.partition, vp, {
    layout,
    inputGpa: 0x4000n + BigInt(0x2000 * vp),
    outputGpa: 0x5000n + BigInt(0x2000 * vp),
  });
  return { ctx, hc: hypercalls };
}

/**
 * Rows for `it.each(titled(rows, title))('%s', (_title, row) => …)`: vitest cuts `$field` titles
 * at 40 characters, and the titles here quote spec rules.
 */
export function titled<T>(rows: readonly T[], title: (row: T) => string): [string, T][] {
  return rows.map((row) => [title(row), row]);
}
