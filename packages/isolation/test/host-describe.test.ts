import { decodeHypercallControl, HvCallCode, HvStatus } from '@pvlab/hypercall';
import type { DescribeView } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { modifyVisibilityDecoder, pfnRanges, queryVisibilityDecoder } from '../src/host/describe.ts';

function u64s(...words: bigint[]): DataView {
  const view = new DataView(new ArrayBuffer(8 * words.length));
  for (const [i, w] of words.entries()) view.setBigUint64(8 * i, w, true);
  return view;
}

function call(
  input: DataView,
  control: bigint,
  output: DataView = new DataView(new ArrayBuffer(0)),
  repsCompleted = 0,
): DescribeView {
  return {
    control: decodeHypercallControl(control),
    input,
    variableHeaderBytes: 0,
    output,
    status: HvStatus.SUCCESS,
    repsCompleted,
  };
}

describe('isolation decoders', () => {
  it('PFN lists become runs of consecutive PFNs', () => {
    expect(pfnRanges(u64s(0x40n, 0x41n, 0x42n, 0x50n, 0x4fn), 0, 5)).toEqual(['0x40-0x42', '0x50', '0x4f']);
    expect(pfnRanges(u64s(), 0, 0)).toEqual([]);
  });

  it('HvCallModifySparseGpaPageHostVisibility: visibility by name and the PFNs', () => {
    const input = u64s(0xffff_ffff_ffff_ffffn, 3n, 0x100n, 0x101n);
    expect(
      modifyVisibilityDecoder.input!(
        call(input, BigInt(HvCallCode.HvCallModifySparseGpaPageHostVisibility) | (2n << 32n)),
      ),
    ).toEqual({
      partitionId: '0xffffffffffffffff',
      hostVisibility: 'READ_WRITE',
      pfns: ['0x100-0x101'],
    });
  });

  it('HvCallQuerySparseGpaPageHostVisibility: the visibility returned for each completed PFN', () => {
    const output = u64s(0n, 3n, 1n);
    const fields = queryVisibilityDecoder.output!(
      call(
        u64s(0n, 1n, 2n, 3n),
        BigInt(HvCallCode.HvCallQuerySparseGpaPageHostVisibility) | (3n << 32n),
        output,
        2,
      ),
    );
    expect(fields).toEqual({ hostVisibility: ['NOT_VISIBLE', 'READ_WRITE'] });
  });
});
