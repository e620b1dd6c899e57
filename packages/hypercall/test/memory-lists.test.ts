import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { HypercallIo } from '../src/host/calling-convention.ts';
import { testPartition } from '../src/testing/index.ts';
import { HvStatus } from '../src/wire/status.ts';
import { BigintRegisters, memoryCall, memoryOnlyDescriptor, RAM_BYTES, TestCall } from './fixtures.ts';

/**
 * Spec 01 rules 4, 5 and 7 for MemoryOnly (8 B in, 8 B out), in BigInt arithmetic: the input list
 * then the output list, each 8-byte aligned, within its page, below 2^bits; then each in RAM.
 */
function reference(inGpa: bigint, outGpa: bigint, bits: number): string {
  for (const gpa of [inGpa, outGpa]) {
    const offset = gpa & 0xfffn;
    if (offset % 8n !== 0n || offset + 8n > 0x1000n || gpa >= 1n << BigInt(bits)) return 'INVALID_ALIGNMENT';
  }
  for (const gpa of [inGpa, outGpa]) if (gpa + 8n > BigInt(RAM_BYTES)) return `MEMORY 0x${gpa.toString(16)}`;
  return 'SUCCESS';
}

describe('memory-call lists: one exact path for every register file and GPA width', () => {
  // Around everything the rules tell apart: RAM's end, 2^32, each limit 2^bits, 2^53, 2^64.
  const bits = fc.integer({ min: 20, max: 64 });
  const gpa = (b: number) =>
    fc.oneof(
      fc
        .tuple(
          fc.constantFrom(
            0n,
            BigInt(RAM_BYTES),
            1n << 32n,
            1n << BigInt(b),
            1n << 53n,
            (1n << 64n) - 0x1000n,
          ),
          fc.integer({ min: -4, max: 4 }),
          fc.constantFrom(0n, 0n, 4n, 0xffcn),
        )
        .map(([base, k, extra]) => BigInt.asUintN(64, base + 0x1000n * BigInt(k) + extra)),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    );
  test.prop([bits.chain((b) => fc.tuple(fc.constant(b), gpa(b), gpa(b))), fc.boolean()], { numRuns: 2000 })(
    'status or MEMORY fault as the BigInt reference says, through words or bigint registers',
    ([b, inGpa, outGpa], words) => {
      const partition = testPartition({ physicalAddressBits: b, vcpus: 1 });
      partition.dispatcher.register(memoryOnlyDescriptor());
      const io: HypercallIo & { control: bigint } = words ? memoryCall(0n, 0n, 0n) : new BigintRegisters();
      io.control = BigInt(TestCall.MemoryOnly);
      io.writeFastSlot(0, inGpa);
      io.writeFastSlot(1, outGpa);
      const o = partition.dispatchHypercall(0, io);
      const seen =
        typeof o === 'bigint'
          ? Object.entries(HvStatus).find(([, v]) => BigInt(v) === o)?.[0]
          : o.kind === 'fault'
            ? `${o.vector} 0x${o.gpa?.toString(16)}`
            : o.kind;
      expect(seen).toBe(reference(inGpa, outGpa, b));
    },
  );
});
