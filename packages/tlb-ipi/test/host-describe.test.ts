import { decodeHypercallControl, HvCallCode, HvStatus } from '@pvlab/hypercall';
import type { DescribeView } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { describeVpSet, flushDecoder, ipiExDecoder } from '../src/host/describe.ts';

/** A view over `words` (u64 little-endian each). */
function u64s(...words: bigint[]): DataView {
  const view = new DataView(new ArrayBuffer(8 * words.length));
  for (const [i, w] of words.entries()) view.setBigUint64(8 * i, w, true);
  return view;
}

function call(input: DataView, control: bigint, variableHeaderBytes = 0): DescribeView {
  return {
    control: decodeHypercallControl(control),
    input,
    variableHeaderBytes,
    output: new DataView(new ArrayBuffer(0)),
    status: HvStatus.SUCCESS,
    repsCompleted: 0,
  };
}

describe('tlb-ipi decoders', () => {
  it('an HV_VP_SET becomes the list of VP indexes its banks name', () => {
    // SPARSE_4K, banks 0 and 2: VPs 0 and 2 in bank 0, VP 2·64 + 3 = 131 in bank 2.
    expect(describeVpSet(u64s(0n, 0b101n, 0b101n, 1n << 3n), 0)).toEqual({
      format: 'SPARSE_4K',
      validBanksMask: '0x5',
      vps: [0, 2, 131],
    });
    expect(describeVpSet(u64s(1n, 0n), 0)).toEqual({ format: 'ALL', vps: 'all' });
    // A bank the input does not hold (VariableHeaderSize too small) is left out, not read past the list.
    expect(describeVpSet(u64s(0n, 0b11n, 1n), 0)).toMatchObject({ vps: [0] });
    expect(describeVpSet(u64s(7n, 0n), 0)).toMatchObject({ format: '0x7', vps: [] });
  });

  it('HvCallFlushVirtualAddressListEx: address space, flag names, the set, and each GVA range', () => {
    const extended = 0x8n;
    const input = u64s(
      0x1000n, // AddressSpace
      extended | 0x4n, // Flags: USE_EXTENDED_RANGE_FORMAT | NON_GLOBAL_MAPPINGS_ONLY
      0n, // Format SPARSE_4K
      0b10n, // bank 1
      1n << 1n, // VP 65
      0x7f00_0000_0000n | 3n, // 4 KiB pages from 0x7f0000000000
      (0x4000_0000n << 0n) | (1n << 11n) | (1n << 12n), // one 1 GiB page
      (1n << 11n) | (1n << 13n), // large page with RsvdZ set
    );
    const fields = flushDecoder(true, true).input!(
      call(input, BigInt(HvCallCode.HvCallFlushVirtualAddressListEx) | (3n << 32n) | (1n << 17n), 8),
    );
    expect(fields).toEqual({
      addressSpace: '0x1000',
      flags: ['NON_GLOBAL_MAPPINGS_ONLY', 'USE_EXTENDED_RANGE_FORMAT'],
      format: 'SPARSE_4K',
      validBanksMask: '0x2',
      vps: [65],
      gvaRanges: [
        { gva: '0x7f0000000000', pages: 4, pageBytes: 4096 },
        { gva: '0x40000000', pages: 1, pageBytes: 1024 * 1024 * 1024 },
        { invalid: '0x2800' },
      ],
    });
  });

  it('ALL_PROCESSORS targets every VP whatever the mask; unknown flag bits are shown in hex', () => {
    const fields = flushDecoder(false, false).input!(
      call(u64s(0n, 0x1n | 0x40n, 0xffn), BigInt(HvCallCode.HvCallFlushVirtualAddressSpace)),
    );
    expect(fields).toEqual({ addressSpace: '0x0', flags: ['ALL_PROCESSORS', '0x40'], vps: 'all' });
  });

  it('HvCallSendSyntheticClusterIpiEx: the vector and the VPs of its set', () => {
    const input = u64s(0xefn, 0n, 0b1n, 0b1001n);
    expect(
      ipiExDecoder.input!(call(input, BigInt(HvCallCode.HvCallSendSyntheticClusterIpiEx) | (1n << 17n), 8)),
    ).toEqual({
      vector: '0xef',
      targetVtl: 0,
      format: 'SPARSE_4K',
      validBanksMask: '0x1',
      vps: [0, 3],
    });
  });
});
