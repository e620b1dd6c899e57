import { structLayout } from '@pvlab/hypercall/testing';
import { describe, expect, it } from 'vitest';
import {
  decodeGvaRange,
  encodeGvaRange,
  FlushVirtualAddressListExInput,
  FlushVirtualAddressListExInputElement,
  FlushVirtualAddressListInput,
  FlushVirtualAddressListInputElement,
  FlushVirtualAddressSpaceExInput,
  FlushVirtualAddressSpaceInput,
  HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
  HvVpSetBank,
  HvVpSetHeader,
  SendSyntheticClusterIpiExInput,
  SendSyntheticClusterIpiInput,
} from '../src/index.ts';
import {
  HV_FLUSH_ALL_PROCESSORS,
  HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES,
  HV_FLUSH_USE_EXTENDED_RANGE_FORMAT,
} from '../src/wire/flush.ts';

describe('flush flags (spec 02)', () => {
  it.each([
    ['HV_FLUSH_ALL_PROCESSORS', HV_FLUSH_ALL_PROCESSORS, 0x1n],
    ['HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES', HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES, 0x2n],
    ['HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY', HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY, 0x4n],
    ['HV_FLUSH_USE_EXTENDED_RANGE_FORMAT', HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, 0x8n],
  ])('%s = %s', (_name, value, expected) => expect(value).toBe(expected));
});

describe('input layouts (spec 02 "Input layouts")', () => {
  it('0x0002/0x0003: AddressSpace 0, Flags 8, ProcessorMask 16, 24 bytes; ranges at 24 + 8·i', () => {
    expect(structLayout(FlushVirtualAddressSpaceInput)).toBe(
      '0: u64 addressSpace · 8: u64 flags · 16: u64 processorMask (24 B)',
    );
    expect(FlushVirtualAddressListInput).toBe(FlushVirtualAddressSpaceInput);
    expect(structLayout(FlushVirtualAddressListInputElement)).toBe('0: u64 gvaRange (8 B)');
  });
  it('0x0013/0x0014: AddressSpace 0, Flags 8, VpSet at 16 (banks from 32)', () => {
    expect(structLayout(FlushVirtualAddressSpaceExInput)).toBe(
      '0: u64 addressSpace · 8: u64 flags · 16: u64 vpSet.format · 24: u64 vpSet.validBanksMask (32 B)',
    );
    expect(FlushVirtualAddressListExInput).toBe(FlushVirtualAddressSpaceExInput);
    expect(FlushVirtualAddressListExInputElement).toBe(FlushVirtualAddressListInputElement);
  });
  it('0x000B: Vector 0, TargetVtl 4, flags 5, reserved 6, ProcessorMask 8, 16 bytes', () => {
    expect(structLayout(SendSyntheticClusterIpiInput)).toBe(
      '0: u32 vector · 4: u8 targetVtl · 5: u8 flags (RsvdZ) · 6: u16 reserved (RsvdZ) · 8: u64 processorMask (16 B)',
    );
  });
  it('0x0015: Vector 0, TargetVtl 4, VpSet at 8 (banks from 24)', () => {
    expect(structLayout(SendSyntheticClusterIpiExInput)).toBe(
      '0: u32 vector · 4: u8 targetVtl · 5: 3 B reserved (RsvdZ) · 8: u64 vpSet.format · 16: u64 vpSet.validBanksMask (24 B)',
    );
  });
  it('HV_VP_SET: Format, ValidBanksMask, then the banks', () => {
    expect(structLayout(HvVpSetHeader)).toBe('0: u64 format · 8: u64 validBanksMask (16 B)');
    expect(structLayout(HvVpSetBank)).toBe('0: u64 contents (8 B)');
  });
});

describe('GVA range entries', () => {
  it('simple: AdditionalPages 11:0 (0–4095 ⇒ 1–4096 pages), GVA page number 63:12', () => {
    expect(decodeGvaRange(0x7fff_1234_5003n, false)).toEqual({
      gva: 0x7fff_1234_5000n,
      pages: 4,
      pageBytes: 4096,
    });
    expect(decodeGvaRange(0xfffn, false)).toEqual({ gva: 0n, pages: 4096, pageBytes: 4096 });
  });
  it('extended, LargePage=0: AdditionalPages 10:0, bit 11 clear', () => {
    expect(decodeGvaRange(0x4000_07ffn, true)).toEqual({ gva: 0x4000_0000n, pages: 2048, pageBytes: 4096 });
  });
  it('extended, LargePage=1: PageSize 12 (0 = 2 MiB, 1 = 1 GiB), large-page number 63:21', () => {
    expect(decodeGvaRange((3n << 21n) | (1n << 11n) | 1n, true)).toEqual({
      gva: 0x60_0000n,
      pages: 2,
      pageBytes: 2 * 1024 * 1024,
    });
    expect(decodeGvaRange((1n << 30n) | (1n << 12n) | (1n << 11n), true)).toEqual({
      gva: 1n << 30n,
      pages: 1,
      pageBytes: 1024 ** 3,
    });
  });
  it('extended large page with reserved bits 20:13 set is not a valid entry', () => {
    expect(decodeGvaRange((1n << 13n) | (1n << 11n), true)).toBeUndefined();
  });
  it('the same entry decodes per the flag, not always as the simple format (KVM, rule 16)', () => {
    const entry = (1n << 11n) | 5n;
    expect(decodeGvaRange(entry, false)?.pages).toBe(0x806);
    expect(decodeGvaRange(entry, true)?.pageBytes).toBe(2 * 1024 * 1024);
  });
  it('encodes page | min(pages − 1, 4095)', () => {
    expect(encodeGvaRange(0x1000_0000n, 1)).toBe(0x1000_0000n);
    expect(encodeGvaRange(0x1000_0123n, 4096)).toBe(0x1000_0fffn);
    expect(() => encodeGvaRange(0n, 4097)).toThrow('a GVA range covers 1..4096 pages, not 4097');
  });
});
