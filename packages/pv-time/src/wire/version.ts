/** An SMCCC version, e.g. 1.1. */
export interface SmcccVersion {
  /** 1..0x7FFF (bit 31 of the result must stay 0: negative results are error codes). */
  readonly major: number;
  /** 0..0xFFFF. */
  readonly minor: number;
}

/** SMCCC 1.0: no SMCCC_VERSION and no SMCCC_ARCH_FEATURES (both arrived in 1.1). */
export const SMCCC_VERSION_1_0: SmcccVersion = { major: 1, minor: 0 };
/** SMCCC 1.1: the minimum for PV time (spec 06 rule 2). */
export const SMCCC_VERSION_1_1: SmcccVersion = { major: 1, minor: 1 };
/** SMCCC 1.2. */
export const SMCCC_VERSION_1_2: SmcccVersion = { major: 1, minor: 2 };

/** `true` when `v` is a version SMCCC_VERSION can report. */
export function isSmcccVersion(v: SmcccVersion): boolean {
  return (
    Number.isInteger(v.major) &&
    v.major >= 1 &&
    v.major <= 0x7fff &&
    Number.isInteger(v.minor) &&
    v.minor >= 0 &&
    v.minor <= 0xffff
  );
}

/** SMCCC_VERSION's result: major<<16 | minor (1.1 → 0x10001). Throws a RangeError for an impossible version. */
export function encodeSmcccVersion(v: SmcccVersion): bigint {
  if (!isSmcccVersion(v)) {
    throw new RangeError(
      `SMCCC version ${v.major}.${v.minor} is not accepted: use major 1..32767 and minor 0..65535`,
    );
  }
  return BigInt(v.major * 0x1_0000 + v.minor);
}

/**
 * Reads SMCCC_VERSION's X0. The call is SMC32, so only W0 counts; a negative W0 (e.g.
 * NOT_SUPPORTED) means the conduit predates the call: version 1.0 (spec 06 table).
 */
export function decodeSmcccVersion(x0: bigint): SmcccVersion {
  const w0 = Number(BigInt.asIntN(32, x0));
  if (w0 < 0) return SMCCC_VERSION_1_0;
  return { major: w0 >>> 16, minor: w0 & 0xffff };
}

/** `a` ≥ `b`. */
export function smcccVersionAtLeast(a: SmcccVersion, b: SmcccVersion): boolean {
  return a.major > b.major || (a.major === b.major && a.minor >= b.minor);
}
