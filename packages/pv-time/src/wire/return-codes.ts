/**
 * SMCCC return codes — spec 06 "Return code". X0 holds them sign-extended to 64 bits (rule 9),
 * so as a register value −1 is 0xFFFF_FFFF_FFFF_FFFF.
 */
export const SmcccReturnCode = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  NOT_REQUIRED: -2,
  INVALID_PARAMETER: -3,
} as const;

/** Name of an SMCCC return code. */
export type SmcccReturnCodeName = keyof typeof SmcccReturnCode;

/** SMCCC_RET_SUCCESS as an X0 value. */
export const SMCCC_RET_SUCCESS = 0n;
/** SMCCC_RET_NOT_SUPPORTED (−1) as an X0 value. */
export const SMCCC_RET_NOT_SUPPORTED = 0xffff_ffff_ffff_ffffn;
/** SMCCC_RET_NOT_REQUIRED (−2) as an X0 value. */
export const SMCCC_RET_NOT_REQUIRED = 0xffff_ffff_ffff_fffen;
/** SMCCC_RET_INVALID_PARAMETER (−3) as an X0 value. */
export const SMCCC_RET_INVALID_PARAMETER = 0xffff_ffff_ffff_fffdn;

/** A register value (u64) from a signed code or value: −1 → 0xFFFF_FFFF_FFFF_FFFF (rule 9). */
export function smcccRegister(value: bigint | number): bigint {
  return BigInt.asUintN(64, typeof value === 'number' ? BigInt(value) : value);
}

/** The signed reading of an X0 value: 0xFFFF_FFFF_FFFF_FFFF → −1n. */
export function smcccSigned(x0: bigint): bigint {
  return BigInt.asIntN(64, x0);
}

const CODE_NAMES = new Map<bigint, SmcccReturnCodeName>(
  Object.entries(SmcccReturnCode).map(([name, code]) => [smcccRegister(code), name as SmcccReturnCodeName]),
);

/** The return-code name of an X0 value (`SUCCESS`, `NOT_SUPPORTED`, …), or undefined for other values. */
export function smcccReturnCodeName(x0: bigint): SmcccReturnCodeName | undefined {
  return CODE_NAMES.get(BigInt.asUintN(64, x0));
}
