/** The dispatcher tests' partition: the test calls registered, Echo's input staged, output poisoned. */
import type { X64HypercallRegisters } from '../src/host/calling-convention.ts';
import { encodeHypercallControl } from '../src/wire/control.ts';
import { decodeHypercallResult } from '../src/wire/result.ts';
import { INPUT_GPA, makeHypercallPartition, OUTPUT_GPA, readU64s, TestCall, writeU64s } from './fixtures.ts';

/** The byte the output page is filled with, as a u64. */
export const SENTINEL = 0xa5a5_a5a5_a5a5_a5a5n;
export const ECHO_INPUT = [0x1111n, 0x2222n];
/** ~0x1111 and ~0x2222 in 64 bits. */
export const ECHO_OUTPUT = [0xffff_ffff_ffff_eeeen, 0xffff_ffff_ffff_ddddn];

/** A partition with hypercalls on, Echo input at INPUT_GPA and an output page full of 0xA5. */
export function setup(options: Parameters<typeof makeHypercallPartition>[0] = {}) {
  const { partition, log } = makeHypercallPartition(options);
  writeU64s(partition, INPUT_GPA, ECHO_INPUT);
  partition.memory.fill(OUTPUT_GPA, 4096, 0xa5);
  const call = (regs: X64HypercallRegisters, vp = 0) => {
    const raw = partition.hypercall(vp, regs);
    return { raw, ...decodeHypercallResult(raw) };
  };
  const outputUntouched = () => readU64s(partition, OUTPUT_GPA, 512).every((v) => v === SENTINEL);
  return { partition, log, call, outputUntouched };
}

/** The control value of a RepDouble call (one variable-header quadword: the base). */
export const repControl = (repCount: number, repStartIndex = 0) =>
  encodeHypercallControl({ callCode: TestCall.RepDouble, variableHeaderSize: 1, repCount, repStartIndex });
