import { fc, test as fcTest } from '@fast-check/vitest';
import { structLayout } from '@pvlab/hypercall/testing';
import { describe, expect, it } from 'vitest';
import { HV_ANY_VP, HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF } from '../src/wire/ids.ts';
import { HvInputVtl, inputVtl, selectInputVtl } from '../src/wire/input-vtl.ts';
import {
  HvInterceptSuspend,
  HvRegisterName,
  HvSuspendRegister,
  HvVsmCodePageOffsets,
  HvVsmPartitionConfig,
  HvVsmPartitionStatus,
  HvVsmVina,
  HvVsmVpSecureConfig,
  HvVsmVpStatus,
  hvRegisterName,
  secureConfigVtlOf,
  vsmVpSecureConfigName,
} from '../src/wire/registers.ts';
import {
  GetVpRegistersInput,
  GetVpRegistersInputElement,
  GetVpRegistersOutputElement,
  getVpRegistersInputBytes,
  readRegisterValue,
  readVpRegistersHeader,
  SetVpRegistersInput,
  SetVpRegistersInputElement,
  setVpRegistersInputBytes,
  writeRegisterValue,
  writeVpRegistersHeader,
} from '../src/wire/vp-registers.ts';
import {
  EnablePartitionVtlInput,
  EnableVpVtlInput,
  HvEnablePartitionVtlFlags,
  HvVtlReturnInput,
  InitialVpContextX64,
} from '../src/wire/vtl-management.ts';
import { getInput } from './fixtures.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('spec 03 "Common encodings"', () => {
  it('HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, HV_ANY_VP', () => {
    expect([HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF, HV_ANY_VP]).toEqual([
      0xffff_ffff_ffff_ffffn,
      0xffff_fffe,
      0xffff_ffff,
    ]);
  });

  it.each([
    [0, 0x10],
    [1, 0x11],
    [2, 0x12],
  ])('HV_INPUT_VTL naming VTL%i explicitly is byte %i (0x10 | vtl)', (vtl, byte) => {
    expect(inputVtl(vtl)).toBe(byte);
  });

  it.each([
    ["0x00 = the caller's current VTL", 0x00, 1, 1],
    ['0x10 = VTL0', 0x10, 2, 0],
    ['0x11 = VTL1', 0x11, 0, 1],
    ['0x12 = VTL2', 0x12, 0, 2],
    ['0x13: TargetVtl 3 > 2 (openvmm) → refused', 0x13, 0, undefined],
    ['0x20: RsvdZ bit 5 → refused', 0x20, 0, undefined],
    ['0x80: RsvdZ bit 7 → refused', 0x80, 0, undefined],
    ['0x03 without UseTargetVtl = current (TargetVtl ignored)', 0x03, 1, 1],
  ] as const)('%s', (_t, byte, current, vtl) => {
    expect(selectInputVtl(byte, current, 2)).toBe(vtl);
  });

  it('HV_INPUT_VTL describes its fields', () => {
    expect(HvInputVtl.describe(0x32n)).toBe('TargetVtl=0x2 UseTargetVtl=0x1 RsvdZ[7:5]=0x1!');
  });
});

describe('HvCallGetVpRegisters / HvCallSetVpRegisters layouts (spec 03)', () => {
  it("get_vtl's input: 16-byte header + one name = 20 bytes, padded to 24", () => {
    const bytes = getInput([HvRegisterName.VsmVpStatus]);
    expect(bytes.length).toBe(24);
    // PartitionId SELF · VpIndex SELF · InputVtl 0 · RsvdZ · 0x000D0003 · padding.
    expect(hex(bytes)).toBe('ffffffffffffffff' + 'feffffff' + '00' + '000000' + '03000d00' + '00000000');
  });

  it('header round trip and RsvdZ bytes', () => {
    const view = new DataView(new ArrayBuffer(16));
    writeVpRegistersHeader(view, 0, { partitionId: HV_PARTITION_ID_SELF, vpIndex: 3, inputVtl: 0x11 });
    expect(hex(new Uint8Array(view.buffer))).toBe('ffffffffffffffff0300000011000000');
    view.setUint8(14, 0x5a);
    expect(readVpRegistersHeader(view)).toEqual({
      partitionId: HV_PARTITION_ID_SELF,
      vpIndex: 3,
      inputVtl: 0x11,
      reserved: 0x5a00,
    });
  });

  it('sizes: Get input 16 + 4·n padded to 8; Set 16 + 32·n', () => {
    expect([1, 2, 3, 4].map(getVpRegistersInputBytes)).toEqual([24, 24, 32, 32]);
    expect([1, 2].map(setVpRegistersInputBytes)).toEqual([48, 80]);
    expect(structLayout(SetVpRegistersInputElement)).toBe(
      '0: u32 name · 4: 12 B reserved (RsvdZ) · 16: u64 value.low64 · 24: u64 value.high64 (32 B)',
    );
  });

  it('Header (16 B, both): 0 u64 PartitionId · 8 u32 VpIndex · 12 u8 InputVtl · 13 3 B RsvdZ', () => {
    expect(structLayout(GetVpRegistersInput)).toBe(
      '0: u64 partitionId · 8: u32 vpIndex · 12: u8 inputVtl · 13: 3 B reserved (RsvdZ) (16 B)',
    );
    expect(SetVpRegistersInput).toBe(GetVpRegistersInput);
  });

  it('Get: rep input element u32 RegisterName; rep output element 16 B HV_REGISTER_VALUE', () => {
    expect(structLayout(GetVpRegistersInputElement)).toBe('0: u32 name (4 B)');
    expect(structLayout(GetVpRegistersOutputElement)).toBe('0: u64 low64 · 8: u64 high64 (16 B)');
  });

  it('HV_REGISTER_VALUE is 16 bytes, low quadword first; narrower values are zero-extended', () => {
    const view = new DataView(new ArrayBuffer(16));
    writeRegisterValue(view, 0, 0x0007_0002n);
    expect(hex(new Uint8Array(view.buffer))).toBe('02000700000000000000000000000000');
    writeRegisterValue(view, 0, (0x1122n << 64n) | 0x33n);
    expect(hex(new Uint8Array(view.buffer))).toBe('33000000000000002211000000000000');
    expect(readRegisterValue(view, 0)).toBe((0x1122n << 64n) | 0x33n);
    expect(() => writeRegisterValue(view, 0, 1n << 128n)).toThrow(/does not fit in 128 bits/);
  });

  fcTest.prop([fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })])('register values round-trip', (v) => {
    const view = new DataView(new ArrayBuffer(16));
    writeRegisterValue(view, 0, v);
    expect(readRegisterValue(view, 0)).toBe(v);
  });

  fcTest.prop([fc.uint8Array({ minLength: 16, maxLength: 16 })])(
    'any 16 header bytes decode without throwing',
    (b) => {
      const h = readVpRegistersHeader(new DataView(b.buffer));
      expect(h.reserved).toBe(b[13]! | (b[14]! << 8) | (b[15]! << 16));
    },
  );
});

describe('register names (spec 03 "Register names")', () => {
  it.each([
    ['ExplicitSuspend', 0x0000_0000],
    ['InterceptSuspend', 0x0000_0001],
    ['InstructionEmulationHints', 0x0000_0002],
    ['DispatchSuspend', 0x0000_0003],
    ['InternalActivityState', 0x0000_0004],
    ['HypervisorVersion', 0x0000_0100],
    ['GuestOsId', 0x0009_0002],
    ['VpIndex', 0x0009_0003],
    ['VpAssistPage', 0x0009_0013],
    ['VsmCodePageOffsets', 0x000d_0002],
    ['VsmVpStatus', 0x000d_0003],
    ['VsmPartitionStatus', 0x000d_0004],
    ['VsmVina', 0x000d_0005],
    ['VsmCapabilities', 0x000d_0006],
    ['VsmPartitionConfig', 0x000d_0007],
    ['VsmVpSecureConfigVtl0', 0x000d_0010],
    ['VsmVpWaitForTlbLock', 0x000d_0020],
  ] as const)('HvRegister%s = %i', (name, value) => {
    expect(HvRegisterName[name]).toBe(value);
    expect(hvRegisterName(value)).toBe(`HvRegister${name}`);
  });

  it("InterceptSuspend is 0x1, not the brief's 0x5", () => {
    expect(HvRegisterName.InterceptSuspend).toBe(1);
    expect(hvRegisterName(5)).toBe('unknown register 0x00000005');
  });

  it('VsmVpSecureConfigVtl0..14 = 0x000D0010 + n', () => {
    expect(vsmVpSecureConfigName(14)).toBe(0x000d_001e);
    expect(hvRegisterName(0x000d_0013)).toBe('HvRegisterVsmVpSecureConfigVtl3');
    expect(secureConfigVtlOf(0x000d_001f)).toBeUndefined();
    expect(() => vsmVpSecureConfigName(15)).toThrow(/use VTL 0\.\.14/);
  });

  fcTest.prop([fc.integer({ min: 0, max: 0xffff_ffff })])('hvRegisterName never throws', (n) => {
    expect(hvRegisterName(n)).toMatch(/^(HvRegister|unknown register 0x)/);
  });
});

describe('VSM register bit layouts (spec 03)', () => {
  it('HvRegisterVsmVpStatus: 3:0 ActiveVtl · 4 ActiveMbecEnabled · 31:16 EnabledVtlSet', () => {
    expect(HvVsmVpStatus.encode({ ActiveVtl: 2, EnabledVtlSet: 0b111 })).toBe(0x0007_0002n);
    expect(HvVsmVpStatus.decode(0x0003_0011n)).toEqual({
      ActiveVtl: 1,
      ActiveMbecEnabled: 1,
      EnabledVtlSet: 3,
    });
    expect(HvVsmVpStatus.reservedZeroMask).toBe(0xffff_ffff_0000_ffe0n);
  });

  it('HvRegisterVsmPartitionStatus: 15:0 Enabled · 19:16 MaximumVtl · 35:20 Mbec · 39:36 Sss', () => {
    const v = HvVsmPartitionStatus.encode({
      EnabledVtlSet: 0b101,
      MaximumVtl: 2,
      MbecEnabledVtlSet: 0b100,
      SssEnabledVtlSet: 0b100,
    });
    expect(v).toBe(0x40_0042_0005n);
  });

  it('HvRegisterVsmCodePageOffsets: 11:0 VtlCall · 23:12 VtlReturn', () => {
    expect(HvVsmCodePageOffsets.encode({ VtlCallOffset: 0x10, VtlReturnOffset: 0x20 })).toBe(0x02_0010n);
  });

  it('suspend registers: bit 0 Suspended; InterceptSuspend bit 1 TlbLocked', () => {
    expect(HvSuspendRegister.reservedZeroMask).toBe(~1n & 0xffff_ffff_ffff_ffffn);
    expect(HvInterceptSuspend.decode(0b10n)).toEqual({ Suspended: 0, TlbLocked: 1 });
    expect(HvInterceptSuspend.reservedZeroMask).toBe(~3n & 0xffff_ffff_ffff_ffffn);
    expect(HvVsmVpSecureConfig.decode(0b11n)).toEqual({ MbecEnabled: 1, TlbLocked: 1 });
  });

  it('HvRegisterVsmVina: 7:0 vector · 8 enabled · 9 auto-reset · 10 auto-EOI', () => {
    expect(HvVsmVina.encode({ Vector: 0x31, Enabled: 1, AutoReset: 1, AutoEoi: 1 })).toBe(0x731n);
  });

  it('HvRegisterVsmPartitionConfig: bit 0 EnableVtlProtection · 4:1 DefaultVtlProtectionMask', () => {
    expect(HvVsmPartitionConfig.encode({ EnableVtlProtection: 1, DefaultVtlProtectionMask: 0xf })).toBe(
      0x1fn,
    );
    expect(HvVsmPartitionConfig.reservedZeroMask).toBe(~0x1fffn & 0xffff_ffff_ffff_ffffn);
  });
});

describe('VTL management layouts (spec 03 "VTL management hypercalls")', () => {
  it('EnablePartitionVtl: 0 PartitionId · 8 TargetVtl · 9 Flags · 10 RsvdZ (16 bytes)', () => {
    expect(structLayout(EnablePartitionVtlInput)).toBe(
      '0: u64 partitionId · 8: u8 targetVtl · 9: u8 flags · 10: 6 B reserved (RsvdZ) (16 B)',
    );
    expect(EnablePartitionVtlInput.accessors.flags.layout).toBe(HvEnablePartitionVtlFlags);
    expect(
      HvEnablePartitionVtlFlags.encode({
        EnableMbec: 1,
        EnableSupervisorShadowStack: 1,
        EnableHardwareHvpt: 1,
      }),
    ).toBe(7n);
    expect(HvEnablePartitionVtlFlags.reservedZeroBits(0x08n)).toBe(0x08n);
  });

  it('EnableVpVtl: 0 PartitionId · 8 VpIndex · 12 TargetVtl · 13 RsvdZ · 16 context (x64 224 B)', () => {
    expect(EnableVpVtlInput.fields.map((f) => [f.offset, f.name])).toEqual([
      [0, 'partitionId'],
      [8, 'vpIndex'],
      [12, 'targetVtl'],
      [13, 'reserved'],
      [16, 'context'],
    ]);
    expect(EnableVpVtlInput.size).toBe(240);
    // rip, rsp, rflags, cs, ds, es, fs, gs, ss, tr, ldtr [16 B each], idtr, gdtr [16 B each], efer, cr0, cr3, cr4, pat.
    expect(structLayout(InitialVpContextX64)).toBe(
      '0: u64 rip · 8: u64 rsp · 16: u64 rflags · 24: 16 B cs · 40: 16 B ds · 56: 16 B es · 72: 16 B fs · ' +
        '88: 16 B gs · 104: 16 B ss · 120: 16 B tr · 136: 16 B ldtr · 152: 16 B idtr · 168: 16 B gdtr · ' +
        '184: u64 efer · 192: u64 cr0 · 200: u64 cr3 · 208: u64 cr4 · 216: u64 pat (224 B)',
    );
  });

  it('VtlReturn RAX: bit 0 FastReturn, other bits RsvdZ', () => {
    expect(HvVtlReturnInput.decode(1n)).toEqual({ FastReturn: 1 });
    expect(HvVtlReturnInput.reservedZeroBits(3n)).toBe(2n);
  });
});
