import { fc, test } from '@fast-check/vitest';
import { decodeHypercallControl, type HvStatusCode } from '@pvlab/hypercall';
import type { DescribeView, HypercallDescriptor } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { createVm } from '../src/index.ts';

/** Every descriptor with a decoder, from an x64 VM with every package and an isolation VM. */
function decodable(): HypercallDescriptor[] {
  const byCode = new Map<number, HypercallDescriptor>();
  for (const vm of [
    createVm({ vcpus: 2 }),
    createVm({ vcpus: 2, isolation: { sharedGpaBoundaryBits: 36 } }),
  ]) {
    for (const d of vm.partition.dispatcher.descriptors()) if (d.describe) byCode.set(d.code, d);
    vm.close();
  }
  return [...byCode.values()];
}

const DESCRIPTORS = decodable();
const PAGE = 4096;

/** A call the dispatcher could stage for `d`: a control value within one page, random bytes. */
function arbitraryView(d: HypercallDescriptor): fc.Arbitrary<DescribeView> {
  const inEl = d.kind === 'rep' ? d.inputElementBytes : 0;
  const outEl = d.kind === 'rep' ? d.outputElementBytes : 0;
  const maxVar = d.variableHeader ? Math.floor((PAGE - d.fixedInputBytes) / 8) : 0;
  return fc
    .record({
      varHeader: fc.integer({ min: 0, max: Math.min(maxVar, 64) }),
      reps: d.kind === 'rep' ? fc.integer({ min: 1, max: 600 }) : fc.constant(0),
      fast: fc.boolean(),
    })
    .chain(({ varHeader, reps, fast }) => {
      // Keep the lists within a page, as rules 3–4 do.
      const room = PAGE - d.fixedInputBytes - 8 * varHeader;
      const maxReps = Math.max(
        1,
        Math.min(inEl > 0 ? Math.floor(room / inEl) : reps, outEl > 0 ? PAGE / outEl : reps),
      );
      const repCount = d.kind === 'rep' ? Math.min(reps, maxReps) : 0;
      const inLen = d.fixedInputBytes + 8 * varHeader + repCount * inEl;
      const outLen = d.kind === 'rep' ? repCount * outEl : d.outputBytes;
      return fc.record({
        control: fc.constant(
          decodeHypercallControl(
            BigInt(d.code) | (fast ? 1n << 16n : 0n) | (BigInt(varHeader) << 17n) | (BigInt(repCount) << 32n),
          ),
        ),
        input: fc.uint8Array({ minLength: inLen, maxLength: inLen }).map((b) => new DataView(b.buffer)),
        variableHeaderBytes: fc.constant(8 * varHeader),
        output: fc.uint8Array({ minLength: outLen, maxLength: outLen }).map((b) => new DataView(b.buffer)),
        status: fc.integer({ min: 0, max: 0x7f }).map((s) => s as HvStatusCode),
        repsCompleted: fc.integer({ min: 0, max: repCount }),
      });
    });
}

describe('hypercall decoders', () => {
  it('exist for every hypercall family', () => {
    expect(DESCRIPTORS.map((d) => d.name)).toEqual(
      expect.arrayContaining([
        'HvCallNotifyLongSpinWait',
        'HvCallFlushVirtualAddressListEx',
        'HvCallSendSyntheticClusterIpiEx',
        'HvCallGetVpRegisters',
        'HvCallSetVpRegisters',
        'HvCallPostMessage',
        'HvCallSignalEvent',
        'HvCallModifySparseGpaPageHostVisibility',
        'HvCallQuerySparseGpaPageHostVisibility',
      ]),
    );
  });

  for (const d of DESCRIPTORS) {
    test.prop([arbitraryView(d)], { numRuns: 200 })(
      `${d.name}: random input and output bytes decode to plain JSON, never a throw`,
      (view) => {
        for (const part of [d.describe!.input, d.describe!.output]) {
          if (part === undefined) continue;
          const fields = part.call(d.describe, view);
          // Plain JSON: a round trip through JSON gives the same value (no bigint, no undefined).
          expect(JSON.parse(JSON.stringify(fields))).toEqual(fields);
          expect(fields).not.toHaveProperty('decodeError');
        }
      },
    );
  }
});
