import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { HypercallIo } from '../src/host/calling-convention.ts';
import { X64HypercallRegisters } from '../src/host/calling-convention.ts';
import { HvCallCode } from '../src/wire/call-code.ts';
import { BigintRegisters, makeHypercallPartition, RAM_BYTES, TestCall } from './fixtures.ts';

const CODES = [
  TestCall.Echo,
  TestCall.RepDouble,
  TestCall.RegisterOnly,
  TestCall.MemoryOnly,
  TestCall.XmmInputOnly,
  HvCallCode.HvCallNotifyLongSpinWait,
  0x1234,
];

describe('HypercallIo.words: the 32-bit register view', () => {
  test.prop(
    [
      fc.constantFrom(...CODES),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 14, maxLength: 14 }),
      fc.boolean(),
    ],
    { numRuns: 400 },
  )(
    'gives the same result, output slots and registers as the bigint registers',
    (code, noise, slots, fast) => {
      // Mostly well-formed controls (the call code, Fast, small rep fields), sometimes any bits.
      const control =
        noise % 4n === 0n ? noise : BigInt(code) | (fast ? 1n << 16n : 0n) | (((noise >> 8n) & 0x3n) << 32n);
      const run = (io: HypercallIo & { control: bigint }) => {
        const { partition } = makeHypercallPartition();
        io.control = control;
        for (let i = 0; i < 14; i++) io.writeFastSlot(i, slots[i]!);
        let outcome: string;
        try {
          outcome = `0x${partition.hypercall(0, io).toString(16)}`;
        } catch (e) {
          outcome = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        }
        const after = Array.from({ length: 14 }, (_, i) => io.readFastSlot(i));
        return {
          outcome,
          after,
          first: io.fastOutputFirstSlot,
          count: io.fastOutputSlots,
          memory: [...partition.memory.bytes.subarray(0x3000, 0x3100)],
        };
      };
      expect(run(new X64HypercallRegisters())).toEqual(run(new BigintRegisters()));
    },
  );
});

describe('HypercallDispatcher: a call code remembers its last control value (the plan cache)', () => {
  test.prop(
    [
      fc.array(
        fc.record({
          code: fc.constantFrom(
            TestCall.Echo,
            TestCall.RepDouble,
            TestCall.RegisterOnly,
            HvCallCode.HvCallNotifyLongSpinWait,
          ),
          fast: fc.boolean(),
          reps: fc.integer({ min: 0, max: 3 }),
          start: fc.integer({ min: 0, max: 3 }),
          varHdr: fc.integer({ min: 0, max: 2 }),
          slot: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        }),
        { minLength: 2, maxLength: 30 },
      ),
    ],
    { numRuns: 200 },
  )('a sequence of calls on one partition gives what each call gives on a fresh one', (calls) => {
    const outcome = (
      partition: ReturnType<typeof makeHypercallPartition>['partition'],
      c: (typeof calls)[0],
    ) => {
      const io = new X64HypercallRegisters();
      io.control =
        BigInt(c.code) |
        (c.fast ? 1n << 16n : 0n) |
        (BigInt(c.varHdr) << 17n) |
        (BigInt(c.reps) << 32n) |
        (BigInt(c.start) << 48n);
      for (let i = 0; i < 14; i++) io.writeFastSlot(i, c.slot ^ BigInt(i));
      let result: string;
      try {
        result = `0x${partition.hypercall(0, io).toString(16)}`;
      } catch (e) {
        result = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      return { result, slots: Array.from({ length: 14 }, (_, i) => io.readFastSlot(i)) };
    };
    const shared = makeHypercallPartition().partition;
    for (const c of calls) expect(outcome(shared, c)).toEqual(outcome(makeHypercallPartition().partition, c));
  });
});

describe('HypercallIo.words: memory-call GPAs read as numbers', () => {
  // GPAs around everything rules 4–7 distinguish: inside RAM, across its end, past it inside
  // the GPA space, at and past 2^48, misaligned, across a page, and any 64-bit value.
  const edge = fc
    .tuple(
      fc.constantFrom(0n, 0x1000n, BigInt(RAM_BYTES), 1n << 48n, 1n << 52n, 1n << 53n, 1n << 64n),
      fc.integer({ min: -8, max: 8 }),
      fc.constantFrom(0n, 0n, 0n, 4n),
    )
    .map(([base, k, misaligned]) => BigInt.asUintN(64, base + 8n * BigInt(k) + misaligned));
  const gpa = fc.oneof(
    { arbitrary: edge, weight: 4 },
    fc.bigInt({ min: 0n, max: BigInt(RAM_BYTES) + 0x2000n }),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  );
  test.prop([fc.constantFrom(TestCall.Echo, TestCall.MemoryOnly, TestCall.RepDouble), gpa, gpa, fc.nat(3)], {
    numRuns: 1500,
  })('give the same result, memory and diagnostics as bigint registers', (code, inGpa, outGpa, reps) => {
    const control = BigInt(code) | (code === TestCall.RepDouble ? BigInt(reps) << 32n : 0n);
    const run = (io: HypercallIo & { control: bigint }) => {
      const { partition } = makeHypercallPartition();
      for (let i = 0; i < 64; i++) partition.memory.writeU8(BigInt(RAM_BYTES - 64 + i), i);
      for (let i = 0; i < 256; i++) partition.memory.writeU8(BigInt(i), 255 - i);
      io.control = control;
      io.writeFastSlot(0, inGpa);
      io.writeFastSlot(1, outGpa);
      let outcome: string;
      try {
        outcome = `0x${partition.hypercall(0, io).toString(16)}`;
      } catch (e) {
        outcome = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      }
      // Where output can land: the output list (if it is in RAM) and both ends of RAM.
      const bytes = partition.memory.bytes;
      const at = outGpa < BigInt(RAM_BYTES) ? Number(outGpa) : 0;
      const memory = [bytes.slice(0, 0x100), bytes.slice(RAM_BYTES - 0x100), bytes.slice(at, at + 64)];
      return { outcome, memory, diagnostics: partition.diagnostics() };
    };
    const words = run(new X64HypercallRegisters());
    const big = run(new BigintRegisters());
    expect(words.outcome).toBe(big.outcome);
    expect(words.diagnostics).toEqual(big.diagnostics);
    expect(words.memory).toEqual(big.memory);
  });
});
