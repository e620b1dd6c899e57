import { describe, expect, it } from 'vitest';
import { HvCallCode, hvCallName } from '../src/wire/call-code.ts';
import { HV_ANY_VP, HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF } from '../src/wire/ids.ts';
import { HvStatus, hvStatusName } from '../src/wire/status.ts';

const hex4 = (code: number): string => `0x${code.toString(16).padStart(4, '0')}`;

/** Spec 01 "HV_STATUS codes", transcribed cell by cell (the 0x0020–0x0036 family row aside). */
const SPEC_STATUS_TABLE: readonly [number, string][] = [
  [0x0000, 'SUCCESS'],
  [0x0002, 'INVALID_HYPERCALL_CODE'],
  [0x0003, 'INVALID_HYPERCALL_INPUT'],
  [0x0004, 'INVALID_ALIGNMENT'],
  [0x0005, 'INVALID_PARAMETER'],
  [0x0006, 'ACCESS_DENIED'],
  [0x0007, 'INVALID_PARTITION_STATE'],
  [0x0008, 'OPERATION_DENIED'],
  [0x0009, 'UNKNOWN_PROPERTY'],
  [0x000a, 'PROPERTY_VALUE_OUT_OF_RANGE'],
  [0x000b, 'INSUFFICIENT_MEMORY'],
  [0x000c, 'PARTITION_TOO_DEEP'],
  [0x000d, 'INVALID_PARTITION_ID'],
  [0x000e, 'INVALID_VP_INDEX'],
  [0x0010, 'NOT_FOUND'],
  [0x0011, 'INVALID_PORT_ID'],
  [0x0012, 'INVALID_CONNECTION_ID'],
  [0x0013, 'INSUFFICIENT_BUFFERS'],
  [0x0014, 'NOT_ACKNOWLEDGED'],
  [0x0015, 'INVALID_VP_STATE'],
  [0x0016, 'ACKNOWLEDGED'],
  [0x0017, 'INVALID_SAVE_RESTORE_STATE'],
  [0x0018, 'INVALID_SYNIC_STATE'],
  [0x0019, 'OBJECT_IN_USE'],
  [0x001a, 'INVALID_PROXIMITY_DOMAIN_INFO'],
  [0x001b, 'NO_DATA'],
  [0x001c, 'INACTIVE'],
  [0x001d, 'NO_RESOURCES'],
  [0x001e, 'FEATURE_UNAVAILABLE'],
  [0x001f, 'PARTIAL_PACKET'],
  [0x0030, 'PROCESSOR_CACHE_LINE_FLUSH_SIZE_INCOMPATIBLE'],
  [0x0033, 'INSUFFICIENT_BUFFER'],
  [0x0037, 'INCOMPATIBLE_PROCESSOR'],
  [0x0038, 'INSUFFICIENT_DEVICE_DOMAINS'],
  [0x003c, 'CPUID_FEATURE_VALIDATION_ERROR'],
  [0x003d, 'CPUID_XSAVE_FEATURE_VALIDATION_ERROR'],
  [0x003e, 'PROCESSOR_STARTUP_TIMEOUT'],
  [0x003f, 'SMX_ENABLED'],
  [0x0041, 'INVALID_LP_INDEX'],
  [0x0050, 'INVALID_REGISTER_VALUE'],
  [0x0051, 'INVALID_VTL_STATE'],
  [0x0055, 'NX_NOT_DETECTED'],
  [0x0057, 'INVALID_DEVICE_ID'],
  [0x0058, 'INVALID_DEVICE_STATE'],
  [0x0059, 'PENDING_PAGE_REQUESTS'],
  [0x0060, 'PAGE_REQUEST_INVALID'],
  [0x0065, 'KEY_ALREADY_EXISTS'],
  [0x0066, 'DEVICE_ALREADY_IN_DOMAIN'],
  [0x006f, 'INVALID_CPU_GROUP_ID'],
  [0x0070, 'INVALID_CPU_GROUP_STATE'],
  [0x0071, 'OPERATION_FAILED'],
  [0x0072, 'NOT_ALLOWED_WITH_NESTED_VIRT_ACTIVE'],
  [0x0073, 'INSUFFICIENT_ROOT_MEMORY'],
  [0x0074, 'EVENT_BUFFER_ALREADY_FREED'],
  [0x0075, 'INSUFFICIENT_CONTIGUOUS_MEMORY'],
  [0x0078, 'TIME_OUT'],
  [0x0079, 'CALL_PENDING'],
  [0x0086, 'VTL_ALREADY_ENABLED'],
  [0x0087, 'UNKNOWN_REGISTER_NAME'],
];

describe('HV_STATUS — spec 01 "HV_STATUS codes"', () => {
  it.each(
    SPEC_STATUS_TABLE.map(([code, name]) => [`${hex4(code)} is HV_STATUS_${name}`, code, name] as const),
  )('%s', (_title, code, name) => {
    expect(HvStatus[name as keyof typeof HvStatus]).toBe(code);
    expect(hvStatusName(code)).toBe(`HV_STATUS_${name}`);
  });

  it('"0x20 = generic" member of the processor-feature family is named', () => {
    expect(HvStatus.PROCESSOR_FEATURE_NOT_SUPPORTED).toBe(0x0020);
    expect(hvStatusName(0x0020)).toBe('HV_STATUS_PROCESSOR_FEATURE_NOT_SUPPORTED');
  });

  it('HvStatus holds exactly the spec table (plus the 0x20 family head), nothing invented', () => {
    const table = new Map<string, number>([...SPEC_STATUS_TABLE.map(([c, n]) => [n, c] as const)]);
    table.set('PROCESSOR_FEATURE_NOT_SUPPORTED', 0x0020);
    expect(new Map(Object.entries(HvStatus))).toEqual(table);
  });

  it.each<[string, number]>([
    ['0x0021', 0x0021],
    ['0x002f', 0x002f],
    ['0x0031', 0x0031],
    ['0x0036', 0x0036],
  ])('"treat 0x0020–0x0036 as processor feature family": %s gets the family name', (hex, code) => {
    expect(hvStatusName(code)).toBe(`HV_STATUS_PROCESSOR_FEATURE_*_NOT_SUPPORTED (${hex})`);
  });

  it.each<[string, number]>([
    ['unknown status 0x0001', 0x0001],
    ['unknown status 0x000f', 0x000f],
    ['unknown status 0x0039', 0x0039],
    ['unknown status 0x0088', 0x0088],
    ['unknown status 0xffff', 0xffff],
  ])('"0x0001 and 0x000F are unassigned"; an unknown code is named "%s", never thrown', (name, code) => {
    expect(hvStatusName(code)).toBe(name);
  });
});

/** Spec 01 "Call codes used in this spec set", transcribed. */
const SPEC_CALL_CODES: readonly [number, string][] = [
  [0x0002, 'HvCallFlushVirtualAddressSpace'],
  [0x0003, 'HvCallFlushVirtualAddressList'],
  [0x0008, 'HvCallNotifyLongSpinWait'],
  [0x000b, 'HvCallSendSyntheticClusterIpi'],
  [0x000c, 'HvCallModifyVtlProtectionMask'],
  [0x000d, 'HvCallEnablePartitionVtl'],
  [0x000f, 'HvCallEnableVpVtl'],
  [0x0011, 'HvCallVtlCall'],
  [0x0012, 'HvCallVtlReturn'],
  [0x0013, 'HvCallFlushVirtualAddressSpaceEx'],
  [0x0014, 'HvCallFlushVirtualAddressListEx'],
  [0x0015, 'HvCallSendSyntheticClusterIpiEx'],
  [0x0046, 'HvCallGetPartitionId'],
  [0x0050, 'HvCallGetVpRegisters'],
  [0x0051, 'HvCallSetVpRegisters'],
  [0x0052, 'HvCallTranslateVirtualAddress'],
  [0x005c, 'HvCallPostMessage'],
  [0x005d, 'HvCallSignalEvent'],
  [0x0099, 'HvCallStartVirtualProcessor'],
  [0x009a, 'HvCallGetVpIndexFromApicId'],
  [0x00ac, 'HvCallTranslateVirtualAddressEx'],
  [0x00db, 'HvCallModifySparseGpaPageHostVisibility'],
  [0x011c, 'HvCallQuerySparseGpaPageHostVisibility'],
  [0x8001, 'HvExtCallQueryCapabilities'],
];

describe('Call codes — spec 01 "Call codes used in this spec set"', () => {
  it.each(SPEC_CALL_CODES.map(([code, name]) => [`${hex4(code)} is ${name}`, code, name] as const))(
    '%s',
    (_title, code, name) => {
      expect(HvCallCode[name as keyof typeof HvCallCode]).toBe(code);
      expect(hvCallName(code)).toBe(name);
    },
  );

  it('HvCallCode holds exactly the spec table', () => {
    expect(new Map(Object.entries(HvCallCode))).toEqual(new Map(SPEC_CALL_CODES.map(([c, n]) => [n, c])));
  });

  it.each<[string, number]>([
    ['unknown call 0x0000', 0x0000],
    ['unknown call 0x0001', 0x0001],
    ['unknown call 0x1234', 0x1234],
    ['unknown call 0xffff', 0xffff],
  ])('open enum: an unknown call code reads as "%s"', (name, code) => {
    expect(hvCallName(code)).toBe(name);
  });
});

describe('the "self" ids (spec 03 common encodings)', () => {
  it('HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF and HV_ANY_VP', () => {
    expect(HV_PARTITION_ID_SELF).toBe(0xffff_ffff_ffff_ffffn);
    expect(HV_VP_INDEX_SELF).toBe(0xffff_fffe);
    expect(HV_ANY_VP).toBe(0xffff_ffff);
  });
});
