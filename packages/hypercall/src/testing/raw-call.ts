import { X64HypercallRegisters } from '../host/calling-convention.js';
import { type DispatchOutcome, outcomeError } from '../host/outcome.js';
import type { HvPartition } from '../host/partition.js';
import {
  decodeHypercallControl,
  encodeHypercallControl,
  type HypercallControlInput,
} from '../wire/control.js';
import { decodeHypercallResult, type HypercallResultFields } from '../wire/result.js';
import { INPUT_GPA, OUTPUT_GPA } from './constants.js';

/** Where `rawCall` puts a memory-form call's input and output. */
export interface RawCallOptions {
  /** Where the input list is written (default `INPUT_GPA`). */
  readonly inputGpa?: bigint;
  /** R8 (default `OUTPUT_GPA`). */
  readonly outputGpa?: bigint;
  /**
   * RDX when it should differ from `inputGpa` — a misaligned or out-of-RAM input GPA while the
   * list itself stays at `inputGpa`.
   */
  readonly rdx?: bigint;
}

/** A raw call's decoded result, the raw RAX value and the registers it ran with (for fast output). */
export interface RawCallResult extends HypercallResultFields {
  readonly result: bigint;
  readonly regs: X64HypercallRegisters;
}

/** What a raw call came to, as `HvPartition.dispatchHypercall` returns it, and the registers it ran with. */
export interface RawDispatchResult {
  readonly outcome: DispatchOutcome;
  readonly regs: X64HypercallRegisters;
}

/** `input` as 8-byte little-endian slots, the last one zero-padded. */
function toSlots(input: Uint8Array): bigint[] {
  const padded = new Uint8Array(Math.ceil(input.length / 8) * 8);
  padded.set(input);
  const view = new DataView(padded.buffer);
  return Array.from({ length: padded.length / 8 }, (_, i) => view.getBigUint64(8 * i, true));
}

/** `slots` as little-endian bytes. */
function toBytes(slots: readonly bigint[]): Uint8Array {
  const bytes = new Uint8Array(8 * slots.length);
  const view = new DataView(bytes.buffer);
  slots.forEach((v, i) => {
    view.setBigUint64(8 * i, BigInt.asUintN(64, v), true);
  });
  return bytes;
}

/**
 * Issues one hypercall from VP `vp` with fresh registers, bypassing any guest code, and returns
 * what it came to as a value (`DispatchOutcome`: the result, a suspension or a fault). Memory
 * form writes `input` at `inputGpa` and passes RDX/R8; fast form (the control's Fast bit) loads
 * it into RDX, R8, XMM0.lo, … — the same bytes cut into 8-byte slots (spec 01 rule 11). `input`
 * is bytes or u64 slots.
 */
export function rawDispatch(
  partition: HvPartition,
  vp: number,
  control: HypercallControlInput | bigint,
  input: Uint8Array | readonly bigint[] = [],
  options: RawCallOptions = {},
): RawDispatchResult {
  const regs = new X64HypercallRegisters();
  regs.control = typeof control === 'bigint' ? control : encodeHypercallControl(control);
  if (decodeHypercallControl(regs.control).fast) {
    const slots = input instanceof Uint8Array ? toSlots(input) : input;
    if (slots.length > regs.fastSlotCount) {
      throw new RangeError(
        `rawCall: ${slots.length} input slots do not fit in registers; accepted: at most ${regs.fastSlotCount}`,
      );
    }
    regs.loadSlots(slots);
  } else {
    const inputGpa = options.inputGpa ?? INPUT_GPA;
    const bytes = input instanceof Uint8Array ? input : toBytes(input);
    if (bytes.length > 0) partition.memory.write(inputGpa, bytes);
    regs.rdx = options.rdx ?? inputGpa;
    regs.r8 = options.outputGpa ?? OUTPUT_GPA;
  }
  return { outcome: partition.dispatchHypercall(vp, regs), regs };
}

/**
 * `rawDispatch` in the throwing form: returns the decoded result, throws `GuestFault` for a fault
 * and `HypercallSuspended` for a suspension (as `HvPartition.hypercall` does).
 */
export function rawCall(
  partition: HvPartition,
  vp: number,
  control: HypercallControlInput | bigint,
  input: Uint8Array | readonly bigint[] = [],
  options: RawCallOptions = {},
): RawCallResult {
  const { outcome, regs } = rawDispatch(partition, vp, control, input, options);
  if (typeof outcome !== 'bigint') throw outcomeError(outcome);
  return { ...decodeHypercallResult(outcome), result: outcome, regs };
}
