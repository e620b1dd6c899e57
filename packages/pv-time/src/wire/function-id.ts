import { defineBitLayout, splitU64 } from '@pvlab/hypercall';

/**
 * The SMCCC function identifier (W0) — spec 06 "SMCCC function ID". It is a 32-bit value; the
 * layout is 64 bits wide like every pvlab layout, so bits 63:32 are declared RsvdZ: an id with
 * them set is not an SMCCC function id at all.
 */
export const SmcccFunctionIdLayout = defineBitLayout('SMCCC function ID', [
  { name: 'FunctionNumber', lsb: 0, width: 16 },
  // SMCCC ≥ 1.3 hint: "the caller has no live SVE state" (spec 06: UNVERIFIED). Part of the
  // "must be zero" range 23:16 of fast calls before 1.3.
  { name: 'SveStateHint', lsb: 16, width: 1 },
  { name: 'Rsvd', lsb: 17, width: 7, kind: 'reserved-zero' },
  { name: 'Owner', lsb: 24, width: 6 },
  { name: 'Convention', lsb: 30, width: 1 },
  { name: 'Fast', lsb: 31, width: 1 },
  { name: 'NotAFunctionId', lsb: 32, width: 32, kind: 'reserved-zero' },
] as const);

/** Bit 31: call type. */
export const SmcccCallType = { YIELDING: 0, FAST: 1 } as const;

/** Bit 30: calling convention (SMC32/HVC32 or SMC64/HVC64). */
export const SmcccConvention = { SMC32: 0, SMC64: 1 } as const;

/** Bits 29:24: the service owner. */
export const SmcccOwner = {
  ARCH: 0,
  CPU: 1,
  SIP: 2,
  OEM: 3,
  STANDARD_SECURE: 4,
  STANDARD_HYPERVISOR: 5,
  VENDOR_HYPERVISOR: 6,
  TRUSTED_APP_FIRST: 48,
  TRUSTED_APP_LAST: 49,
  TRUSTED_OS_FIRST: 50,
  TRUSTED_OS_LAST: 63,
} as const;

/** The bit that marks the SVE-state hint (bit 16) — SMCCC ≥ 1.3 only. */
export const SMCCC_SVE_STATE_HINT = 0x1_0000;

/** The largest SMCCC function id (W0 is 32 bits). */
export const SMCCC_FUNCTION_ID_MAX = 0xffff_ffff;

/** A decoded SMCCC function id. */
export interface SmcccFunctionIdFields {
  /** `true` for a Fast call (bit 31 = 1), `false` for a Yielding call. */
  readonly fast: boolean;
  /** `64` for SMC64/HVC64 (bit 30 = 1), `32` for SMC32/HVC32. */
  readonly convention: 32 | 64;
  /** Bits 29:24 (see `SmcccOwner`). */
  readonly owner: number;
  /** Bit 16, meaningful from SMCCC 1.3 on. */
  readonly sveStateHint: boolean;
  /** Bits 23:17 — must be zero in a fast call. */
  readonly reserved: number;
  /** Bits 15:0. */
  readonly functionNumber: number;
}

const fieldFast = SmcccFunctionIdLayout.field('Fast');
const fieldConvention = SmcccFunctionIdLayout.field('Convention');
const fieldOwner = SmcccFunctionIdLayout.field('Owner');
const fieldHint = SmcccFunctionIdLayout.field('SveStateHint');
const fieldRsvd = SmcccFunctionIdLayout.field('Rsvd');
const fieldNumber = SmcccFunctionIdLayout.field('FunctionNumber');

/** `true` when `value` is an integer 0..0xFFFF_FFFF, i.e. something W0 can hold. */
export function isSmcccFunctionId(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= SMCCC_FUNCTION_ID_MAX;
}

/** Decodes a 32-bit SMCCC function id. Throws a RangeError when `functionId` is not a u32. */
export function decodeSmcccFunctionId(functionId: number): SmcccFunctionIdFields {
  if (!isSmcccFunctionId(functionId)) {
    throw new RangeError(`SMCCC function id ${functionId} is not accepted: use an integer 0..0xffffffff`);
  }
  const [lo, hi] = splitU64(BigInt(functionId));
  return {
    fast: fieldFast.get(lo, hi) === 1,
    convention: fieldConvention.get(lo, hi) === 1 ? 64 : 32,
    owner: fieldOwner.get(lo, hi),
    sveStateHint: fieldHint.get(lo, hi) === 1,
    reserved: fieldRsvd.get(lo, hi),
    functionNumber: fieldNumber.get(lo, hi),
  };
}

/** What `encodeSmcccFunctionId` takes; `sveStateHint` defaults to false. */
export interface SmcccFunctionIdInput {
  readonly fast: boolean;
  readonly convention: 32 | 64;
  readonly owner: number;
  readonly functionNumber: number;
  readonly sveStateHint?: boolean;
}

/**
 * Encodes an SMCCC function id as a u32 number (ARM_SMCCC_CALL_VAL). Throws a RangeError when a
 * field does not fit its bits.
 */
export function encodeSmcccFunctionId(input: SmcccFunctionIdInput): number {
  const value = SmcccFunctionIdLayout.encode({
    Fast: input.fast ? SmcccCallType.FAST : SmcccCallType.YIELDING,
    Convention: input.convention === 64 ? SmcccConvention.SMC64 : SmcccConvention.SMC32,
    Owner: input.owner,
    FunctionNumber: input.functionNumber,
    SveStateHint: input.sveStateHint ? 1 : 0,
  });
  return Number(value);
}

/** One-line rendering of a function id for traces, e.g. `Fast=0x1 Convention=0x1 Owner=0x5 …`. */
export function describeSmcccFunctionIdBits(functionId: number): string {
  return SmcccFunctionIdLayout.describe(BigInt(isSmcccFunctionId(functionId) ? functionId : 0));
}
