import { HvCallCode, HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import type { GuestHypercalls } from '@pvlab/hypercall/guest';
import { HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF } from '../wire/ids.js';
import { HV_INPUT_VTL_CURRENT } from '../wire/input-vtl.js';
import {
  GET_VP_REGISTERS_ELEMENT_BYTES,
  getVpRegistersInputBytes,
  HV_REGISTER_VALUE_BYTES,
  SetVpRegistersElement,
  setVpRegistersInputBytes,
  VpRegistersHeader,
  writeRegisterValue,
  writeVpRegistersHeader,
} from '../wire/vp-registers.js';

/** Whose registers: the VP (HV_VP_INDEX_SELF by default) and the HV_INPUT_VTL byte (0 = current). */
export interface VpRegistersTarget {
  readonly vpIndex?: number;
  /** HV_INPUT_VTL byte: `inputVtl(n)` for VTL n, 0 (default) for the caller's current VTL. */
  readonly inputVtl?: number;
}

/** What a Get/Set helper got done. */
export interface VpRegistersOutcome {
  /** SUCCESS, or the status of the first failing call. */
  readonly status: HvStatusCode;
  /** Registers completed (all of them on SUCCESS). */
  readonly completed: number;
  /** VMCALLs issued (continuations and batches included). */
  readonly invocations: number;
}

function header(view: DataView, target: VpRegistersTarget): void {
  writeVpRegistersHeader(view, 0, {
    partitionId: HV_PARTITION_ID_SELF,
    vpIndex: target.vpIndex ?? HV_VP_INDEX_SELF,
    inputVtl: target.inputVtl ?? HV_INPUT_VTL_CURRENT,
  });
}

/**
 * Reads `names` with rep HvCallGetVpRegisters (0x0050) through this CPU's input and output areas,
 * in as many batches as the areas need, each re-issued on continuation (Linux
 * `hv_call_get_vp_registers`). `values[i]` is the 128-bit value of `names[i]`, for the completed ones.
 */
export function getVpRegisters(
  hc: GuestHypercalls,
  names: readonly number[],
  target: VpRegistersTarget = {},
): VpRegistersOutcome & { readonly values: bigint[] } {
  const perBatch = Math.min(
    Math.floor((hc.pages.inputBytes - VpRegistersHeader.bytes) / GET_VP_REGISTERS_ELEMENT_BYTES),
    Math.floor(hc.pages.outputBytes / HV_REGISTER_VALUE_BYTES),
  );
  const values: bigint[] = [];
  let invocations = 0;
  for (let first = 0; first < names.length; first += perBatch) {
    const batch = names.slice(first, first + perBatch);
    const bytes = new Uint8Array(getVpRegistersInputBytes(batch.length));
    const view = new DataView(bytes.buffer);
    header(view, target);
    batch.forEach((n, i) => {
      view.setUint32(VpRegistersHeader.bytes + GET_VP_REGISTERS_ELEMENT_BYTES * i, n >>> 0, true);
    });
    hc.writeInput(bytes);
    const r = hc.repCall(HvCallCode.HvCallGetVpRegisters, batch.length);
    invocations += r.invocations;
    const out = hc.readOutput(HV_REGISTER_VALUE_BYTES * r.repsCompleted);
    const outView = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < r.repsCompleted; i++) {
      const at = HV_REGISTER_VALUE_BYTES * i;
      values.push(outView.getBigUint64(at, true) | (outView.getBigUint64(at + 8, true) << 64n));
    }
    if (r.status !== HvStatus.SUCCESS) {
      return { status: r.status, completed: values.length, invocations, values };
    }
  }
  return { status: HvStatus.SUCCESS, completed: values.length, invocations, values };
}

/** One register to write. */
export interface RegisterAssoc {
  readonly name: number;
  /** 0 ≤ value < 2^128. */
  readonly value: bigint;
}

/**
 * Writes `registers` with rep HvCallSetVpRegisters (0x0051) in batches that fit this CPU's input
 * area, each re-issued on continuation (Linux `hv_call_set_vp_registers`).
 */
export function setVpRegisters(
  hc: GuestHypercalls,
  registers: readonly RegisterAssoc[],
  target: VpRegistersTarget = {},
): VpRegistersOutcome {
  const perBatch = Math.floor((hc.pages.inputBytes - VpRegistersHeader.bytes) / SetVpRegistersElement.bytes);
  let completed = 0;
  let invocations = 0;
  for (let first = 0; first < registers.length; first += perBatch) {
    const batch = registers.slice(first, first + perBatch);
    const bytes = new Uint8Array(setVpRegistersInputBytes(batch.length));
    const view = new DataView(bytes.buffer);
    header(view, target);
    batch.forEach((r, i) => {
      const at = VpRegistersHeader.bytes + SetVpRegistersElement.bytes * i;
      view.setUint32(at + SetVpRegistersElement.name, r.name >>> 0, true);
      writeRegisterValue(view, at + SetVpRegistersElement.value, r.value);
    });
    hc.writeInput(bytes);
    const r = hc.repCall(HvCallCode.HvCallSetVpRegisters, batch.length);
    invocations += r.invocations;
    completed += r.repsCompleted;
    if (r.status !== HvStatus.SUCCESS) return { status: r.status, completed, invocations };
  }
  return { status: HvStatus.SUCCESS, completed, invocations };
}
