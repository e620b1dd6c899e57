import { HvCallCode } from '@pvlab/hypercall';
import { structLayout } from '@pvlab/hypercall/testing';
import { describe, expect, it } from 'vitest';
import {
  decodeIsolationConfig,
  encodeIsolationConfig,
  encodeModifyVisibilityInput,
  HostVisibility,
  IsolationConfigEax,
  IsolationConfigEbx,
  IsolationType,
  ModifySparseGpaPageHostVisibilityInput,
  ModifySparseGpaPageHostVisibilityInputElement,
  ModifyVisibilityFlags,
  QuerySparseGpaPageHostVisibilityInput,
  QuerySparseGpaPageHostVisibilityInputElement,
  QuerySparseGpaPageHostVisibilityOutputElement,
  sharedGpaBoundary,
} from '../src/index.ts';
import { decodeAlias, sharedAliasOf, sharedAliasOfPage } from '../src/wire/alias.ts';
import { isolationTypeName } from '../src/wire/isolation-config.ts';
import {
  encodeQueryVisibilityInput,
  HV_MAX_MODIFY_GPA_REP_COUNT,
  HV_MAX_QUERY_GPA_REP_COUNT,
  HV_PARTITION_ID_SELF,
  hostVisibilityName,
  isHostVisibility,
} from '../src/wire/visibility.ts';

const bytes = (...b: number[]) => Uint8Array.from(b);
const ff8 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

describe('CPUID 0x4000000C (spec 05)', () => {
  it('EAX bit 0 ParavisorPresent; EBX 3:0 type, bit 5 Active, 11:6 Bits', () => {
    expect(IsolationConfigEax.field('ParavisorPresent')).toMatchObject({ lsb: 0, width: 1 });
    expect(IsolationConfigEbx.field('IsolationType')).toMatchObject({ lsb: 0, width: 4 });
    expect(IsolationConfigEbx.field('Rsvd4')).toMatchObject({ lsb: 4, width: 1 });
    expect(IsolationConfigEbx.field('SharedGpaBoundaryActive')).toMatchObject({ lsb: 5, width: 1 });
    expect(IsolationConfigEbx.field('SharedGpaBoundaryBits')).toMatchObject({ lsb: 6, width: 6 });
    expect(IsolationConfigEbx.field('Rsvd12')).toMatchObject({ lsb: 12, width: 20 });
  });

  it.each([
    // SNP + paravisor, Active, bits 46: EBX = 2 | 1<<5 | 46<<6 = 0xBA2.
    [
      { paravisorPresent: true, isolationType: 2, sharedGpaBoundaryActive: true, sharedGpaBoundaryBits: 46 },
      1,
      0xba2,
    ],
    // VBS, no paravisor, Active, bits 36: 1 | 0x20 | 0x900.
    [
      { paravisorPresent: false, isolationType: 1, sharedGpaBoundaryActive: true, sharedGpaBoundaryBits: 36 },
      0,
      0x921,
    ],
    // Fully enlightened TDX: Active = 0 (rule 1).
    [
      { paravisorPresent: false, isolationType: 3, sharedGpaBoundaryActive: false, sharedGpaBoundaryBits: 0 },
      0,
      0x3,
    ],
  ])('%o ⇔ EAX %i EBX %i', (config, eax, ebx) => {
    expect(encodeIsolationConfig(config)).toEqual({ eax, ebx, ecx: 0, edx: 0 });
    expect(decodeIsolationConfig({ eax, ebx, ecx: 0, edx: 0 })).toEqual(config);
  });

  it('reserved bits are ignored on decode (Linux FIELD_GET)', () => {
    const c = decodeIsolationConfig({ eax: 0xffff_fffe, ebx: 0xffff_f010 | 0xba2, ecx: 0, edx: 0 });
    expect(c).toEqual({
      paravisorPresent: false,
      isolationType: 2,
      sharedGpaBoundaryActive: true,
      sharedGpaBoundaryBits: 46,
    });
  });

  it('IsolationType: 0 NONE, 1 VBS, 2 SNP, 3 TDX (an open enum)', () => {
    expect(IsolationType).toEqual({ NONE: 0, VBS: 1, SNP: 2, TDX: 3 });
    expect(isolationTypeName(2)).toBe('SNP');
    expect(isolationTypeName(9)).toBe('unknown isolation type 9');
  });
});

describe('alias rule (spec 05 rule 3)', () => {
  it('bits = 46 → boundary 0x4000_0000_0000; 0x1234_5000 ↔ 0x4000_1234_5000', () => {
    const b = sharedGpaBoundary(46);
    expect(b).toBe(0x4000_0000_0000n);
    expect(sharedAliasOf(0x1234_5000n, b)).toBe(0x4000_1234_5000n);
    expect(sharedAliasOfPage(0x12345n, b)).toBe(0x4000_1234_5000n);
    expect(decodeAlias(0x4000_1234_5678n, b)).toEqual({
      side: 'shared',
      ramGpa: 0x1234_5678n,
      pfn: 0x12345n,
    });
    expect(decodeAlias(0x1234_5678n, b)).toEqual({ side: 'private', ramGpa: 0x1234_5678n, pfn: 0x12345n });
  });
  it('boundary 0 (an ordinary VM): the alias is the GPA itself', () => {
    expect(sharedAliasOf(0x5000n, 0n)).toBe(0x5000n);
    expect(decodeAlias(0x5000n, 0n).side).toBe('private');
  });
  it('bits outside 0..63 are a RangeError naming the value', () => {
    expect(() => sharedGpaBoundary(64)).toThrow(/SharedGpaBoundaryBits 64 .*0\.\.63/);
  });
});

describe('HostVisibility', () => {
  it('0 NOT_VISIBLE, 1 READ_ONLY, 3 READ_WRITE; 2 undefined', () => {
    expect(HostVisibility).toEqual({ NOT_VISIBLE: 0, READ_ONLY: 1, READ_WRITE: 3 });
    expect([0, 1, 2, 3].map(isHostVisibility)).toEqual([true, true, false, true]);
    expect(hostVisibilityName(2)).toBe('undefined visibility 2');
    expect(hostVisibilityName(3)).toBe('READ_WRITE');
  });
});

describe('0x00DB HvCallModifySparseGpaPageHostVisibility input', () => {
  it('call codes come from the core table: 0x00DB and 0x011C', () => {
    expect(HvCallCode.HvCallModifySparseGpaPageHostVisibility).toBe(0x00db);
    expect(HvCallCode.HvCallQuerySparseGpaPageHostVisibility).toBe(0x011c);
  });
  it('PartitionId 0, HostVisibility u32 at 8, RsvdZ u32 at 12, PFNs at 16 + 8i', () => {
    expect(structLayout(ModifySparseGpaPageHostVisibilityInput)).toBe(
      '0: u64 partitionId · 8: u32 hostVisibility · 12: u32 reserved (RsvdZ) (16 B)',
    );
    expect(structLayout(ModifySparseGpaPageHostVisibilityInputElement)).toBe('0: u64 gpaPageNumber (8 B)');
    expect(encodeModifyVisibilityInput(3, [0x12345n, 1n])).toEqual(
      bytes(...ff8, 3, 0, 0, 0, 0, 0, 0, 0, 0x45, 0x23, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
    );
  });
  it('flags u64: bits 1:0 HostVisibility, 31:2 and 63:32 RsvdZ', () => {
    expect(ModifyVisibilityFlags.reservedZeroMask).toBe(0xffff_ffff_ffff_fffcn);
    expect(ModifyVisibilityFlags.decode(0x7n).HostVisibility).toBe(3);
    expect(ModifyVisibilityFlags.describe(0x1_0000_0007n)).toBe(
      'HostVisibility=0x3 RsvdZ[31:2]=0x1! RsvdZ[63:32]=0x1!',
    );
  });
  it('510 elements max per page = 4096/8 − 2', () => {
    expect(HV_MAX_MODIFY_GPA_REP_COUNT).toBe(510);
    expect(encodeModifyVisibilityInput(0, new Array(510).fill(1n)).length).toBe(4096);
    expect(() => encodeModifyVisibilityInput(0, new Array(511).fill(1n))).toThrow(/511 PFNs .* at most 510/);
  });
});

describe('0x011C HvCallQuerySparseGpaPageHostVisibility input', () => {
  it('PartitionId 0, PFNs at 8 + 8i; 511 per page', () => {
    expect(structLayout(QuerySparseGpaPageHostVisibilityInput)).toBe('0: u64 partitionId (8 B)');
    expect(QuerySparseGpaPageHostVisibilityInputElement).toBe(ModifySparseGpaPageHostVisibilityInputElement);
    // pvlab writes whole 8-byte output elements; the HostVisibility is the first byte's bits 1:0.
    expect(structLayout(QuerySparseGpaPageHostVisibilityOutputElement)).toBe(
      '0: u8 hostVisibility · 1: 7 B reserved (RsvdZ) (8 B)',
    );
    expect(encodeQueryVisibilityInput([0x20n])).toEqual(bytes(...ff8, 0x20, 0, 0, 0, 0, 0, 0, 0));
    expect(HV_MAX_QUERY_GPA_REP_COUNT).toBe(511);
    expect(HV_PARTITION_ID_SELF).toBe(0xffff_ffff_ffff_ffffn);
  });
});
