/**
 * Test fixtures: a partition built from `HvPartition` with tlb-ipi and vtl installed (no
 * createVm: packages must not depend on the host-emulator app), and input builders in the
 * spec's byte layouts.
 */
import {
  decodeHypercallResult,
  encodeHypercallControl,
  GuestMemory,
  HV_X64_MSR_GUEST_OS_ID,
  HV_X64_MSR_HYPERCALL,
  type HvFeatureName,
  type HvStatusCode,
} from '@pvlab/hypercall';
import {
  type GuestContext,
  type GuestCpu,
  GuestHypercalls,
  perCpuHypercallPages,
} from '@pvlab/hypercall/guest';
import { CORE_FEATURES, type HostExtension, HvPartition, X64HypercallRegisters } from '@pvlab/hypercall/host';
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
  getVpRegistersInputBytes,
  SetVpRegistersElement,
  VpRegistersHeader,
  writeRegisterValue,
} from '../src/wire/vp-registers.ts';

export const RAM_BYTES = 0x1_0000;
export const HYPERCALL_PAGE_GPA = 0x1000n;
export const INPUT_GPA = 0x2000n;
export const OUTPUT_GPA = 0x3000n;
export const LINUX_GUEST_OS_ID = 0x8100n << 48n;

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
    const drop = new Set(options.drop ?? []);
    const order = options.order ?? 'tlb-ipi-first';
    const vtl = vtlExtension(options.vtl ?? {});
    const extensions: HostExtension[] =
      order === 'vtl-only'
        ? [vtl]
        : order === 'vtl-first'
          ? [vtl, tlbIpiExtension()]
          : [tlbIpiExtension(), vtl];
    this.partition = new HvPartition({
      memory: new GuestMemory(RAM_BYTES),
      vcpus: options.vcpus ?? 4,
      vendor: 'intel',
      features: [...CORE_FEATURES, ...TLB_IPI_FEATURES, ...VTL_FEATURES].filter((f) => !drop.has(f)),
      spinWaitRetryCount: 0xfff,
      physicalAddressBits: 48,
      maxRepsPerCall: options.maxRepsPerCall ?? 0xfff,
      extensions,
    });
    this.vtl = vtlHostState(this.partition);
    this.vtl.onEvent((e) => this.events.push(e));
    this.partition.onResume((vp) => this.resumed.push(vp));
    this.partition.writeMsr(0, HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    this.partition.writeMsr(0, HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA | 1n);
  }

  /** Issues a call from VP `vp`: `bytes` at INPUT_GPA (memory form) or cut into 8-byte slots (fast). */
  call(
    form: Form,
    vp: number,
    control: { callCode: number; repCount?: number; repStartIndex?: number },
    bytes: Uint8Array,
  ): Outcome {
    const regs = new X64HypercallRegisters();
    regs.control = encodeHypercallControl({ ...control, fast: form === 'fast' });
    if (form === 'memory') {
      this.partition.memory.write(INPUT_GPA, bytes);
      regs.rdx = INPUT_GPA;
      regs.r8 = OUTPUT_GPA;
    } else {
      const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
      padded.set(bytes);
      const view = new DataView(padded.buffer);
      regs.loadSlots(Array.from({ length: padded.length / 8 }, (_, i) => view.getBigUint64(8 * i, true)));
    }
    const r = decodeHypercallResult(this.partition.hypercall(vp, regs));
    return { status: r.status, reps: r.repsCompleted, regs };
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
      { callCode: 0x0050, repCount: names.length, repStartIndex },
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
      { callCode: 0x0051, repCount: entries.length, repStartIndex },
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
    view.setUint32(VpRegistersHeader.bytes + 4 * i, n >>> 0, true);
  });
  return bytes;
}

/** A Set input list: header + 32-byte elements. */
export function setInput(entries: readonly SetEntry[], h: Header = {}): Uint8Array {
  const bytes = new Uint8Array(VpRegistersHeader.bytes + SetVpRegistersElement.bytes * entries.length);
  const view = new DataView(bytes.buffer);
  writeHeader(view, h);
  entries.forEach((e, i) => {
    const at = VpRegistersHeader.bytes + SetVpRegistersElement.bytes * i;
    view.setUint32(at, e.name >>> 0, true);
    view.setUint32(at + 4, e.reserved ?? 0, true);
    writeRegisterValue(view, at + 16, e.value);
  });
  return bytes;
}

/** A GuestCpu over one VP of the partition, with RAX settable for VtlCall/VtlReturn cases. */
export class PartitionCpu implements GuestCpu {
  readonly #p: HvPartition;
  readonly #vp: number;
  constructor(partition: HvPartition, vp: number) {
    this.#p = partition;
    this.#vp = vp;
  }
  cpuid(leaf: number) {
    return this.#p.cpuid(leaf);
  }
  readMsr(msr: bigint) {
    return this.#p.readMsr(this.#vp, msr);
  }
  writeMsr(msr: bigint, value: bigint) {
    this.#p.writeMsr(this.#vp, msr, value);
  }
  hypercall(control: bigint, inputGpa: bigint, outputGpa: bigint): bigint {
    const regs = this.#p.vp(this.#vp).registers;
    regs.control = control;
    regs.rdx = inputGpa;
    regs.r8 = outputGpa;
    return this.#p.hypercall(this.#vp, regs);
  }
  fastHypercall(control: bigint, input: readonly bigint[]) {
    const regs = this.#p.vp(this.#vp).registers;
    regs.control = control;
    regs.loadSlots(input);
    const result = this.#p.hypercall(this.#vp, regs);
    const output = Array.from({ length: regs.fastOutputSlots }, (_, i) =>
      regs.readFastSlot(regs.fastOutputFirstSlot + i),
    );
    return { result, output };
  }
}

/** A guest CPU context and its hypercall helpers; pages at 0x4000 (input) and 0x5000 (output). */
export function guestOn(vm: TestVm, vp: number, layout: 'separate' | 'shared-page' = 'separate') {
  const ctx: GuestContext = { cpu: new PartitionCpu(vm.partition, vp), memory: vm.partition.memory };
  const pages = perCpuHypercallPages(layout, 0x4000n + BigInt(0x2000 * vp), 0x5000n + BigInt(0x2000 * vp));
  return { ctx, hc: new GuestHypercalls(ctx, pages) };
}

/**
 * Rows for `it.each(titled(rows, title))('%s', (_title, row) => …)`: vitest cuts `$field` titles
 * at 40 characters, and the titles here quote spec rules.
 */
export function titled<T>(rows: readonly T[], title: (row: T) => string): [string, T][] {
  return rows.map((row) => [title(row), row]);
}
