/**
 * The XMM fast hypercall's register image: any u64 values survive the trip through guest memory
 * in both directions, the input is the first in_count slots, and the output lands from the pair
 * after them without touching the other slots.
 */
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import {
  FAST_REGISTER_SLOTS,
  firstOutputSlot,
  readRegisterImage,
  writeRegisterOutput,
} from '../src/runtime/registers.ts';
import { vmMemory } from './helpers/fake-cpu.ts';

const memory = vmMemory(1 << 20);
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

test.prop([
  fc.array(u64, { minLength: FAST_REGISTER_SLOTS, maxLength: FAST_REGISTER_SLOTS }),
  fc.integer({ min: 0, max: FAST_REGISTER_SLOTS }),
  fc.array(fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }), { maxLength: 14 }),
  fc.integer({ min: 0, max: 1000 }).map((n) => 0x1000 + 8 * n),
])('round trip of the register image', (slots, inCount, output, at) => {
  for (const [i, v] of slots.entries()) memory.view.setBigUint64(at + 8 * i, v, true);
  expect(readRegisterImage(memory.view, at, inCount)).toEqual(slots.slice(0, inCount));
  writeRegisterOutput(memory.view, at, inCount, output);
  const after = readRegisterImage(memory.view, at, FAST_REGISTER_SLOTS);
  const first = firstOutputSlot(inCount);
  expect(first % 2).toBe(0);
  expect(first).toBeGreaterThanOrEqual(Math.max(inCount, 2));
  const expected = slots.map((v, i) =>
    i >= first && i - first < output.length ? BigInt.asUintN(64, output[i - first]!) : v,
  );
  expect(after).toEqual(expected);
});
