import { HvCallCode, HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import type { GuestHypercalls } from '@pvlab/hypercall/guest';
import { HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF } from '../wire/ids.js';
import { HV_INPUT_VTL_CURRENT } from '../wire/input-vtl.js';
import {
  GetVpRegistersInput,
  GetVpRegistersInputElement,
  GetVpRegistersOutputElement,
  getVpRegistersInputBytes,
  readRegisterValue,
  SetVpRegistersInput,
  SetVpRegistersInputElement,
  setVpRegistersInputBytes,
  writeRegisterValue,
  writeVpRegistersHeader,
} from '../wire/vp-registers.js';

const getName = GetVpRegistersInputElement.accessors.name;
const { name: setName, value: setValue } = SetVpRegistersInputElement.accessors;

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
    Math.floor((hc.pages.inputBytes - GetVpRegistersInput.size) / GetVpRegistersInputElement.size),
    Math.floor(hc.pages.outputBytes / GetVpRegistersOutputElement.size),
  );
  const values: bigint[] = [];
  let invocations = 0;
  for (let first = 0; first < names.length; first += perBatch) {
    const batch = names.slice(first, first + perBatch);
    const bytes = new Uint8Array(getVpRegistersInputBytes(batch.length));
    const view = new DataView(bytes.buffer);
    header(view, target);
    batch.forEach((n, i) => {
      getName.set(view, n >>> 0, GetVpRegistersInput.size + GetVpRegistersInputElement.size * i);
    });
    hc.writeInput(bytes);
    const r = hc.repCall(HvCallCode.HvCallGetVpRegisters, batch.length);
    invocations += r.invocations;
    const out = hc.readOutput(GetVpRegistersOutputElement.size * r.repsCompleted);
    const outView = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < r.repsCompleted; i++) {
      values.push(readRegisterValue(outView, GetVpRegistersOutputElement.size * i));
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
  const perBatch = Math.floor(
    (hc.pages.inputBytes - SetVpRegistersInput.size) / SetVpRegistersInputElement.size,
  );
  let completed = 0;
  let invocations = 0;
  for (let first = 0; first < registers.length; first += perBatch) {
    const batch = registers.slice(first, first + perBatch);
    const bytes = new Uint8Array(setVpRegistersInputBytes(batch.length));
    const view = new DataView(bytes.buffer);
    header(view, target);
    batch.forEach((r, i) => {
      const at = SetVpRegistersInput.size + SetVpRegistersInputElement.size * i;
      setName.set(view, r.name >>> 0, at);
      writeRegisterValue(view, at + setValue.offset, r.value);
    });
    hc.writeInput(bytes);
    const r = hc.repCall(HvCallCode.HvCallSetVpRegisters, batch.length);
    invocations += r.invocations;
    completed += r.repsCompleted;
    if (r.status !== HvStatus.SUCCESS) return { status: r.status, completed, invocations };
  }
  return { status: HvStatus.SUCCESS, completed, invocations };
}
