/**
 * SMCCC function ids that pvlab knows by name — spec 06 table. An open enum: an id not listed
 * keeps its number (`smcccFunctionName` renders it as `unknown 0x…`).
 */
export const SmcccFunction = {
  /** Arm Architecture Calls, SMC32: returns major<<16 | minor. From SMCCC 1.1. */
  SMCCC_VERSION: 0x8000_0000,
  /** X1 = queried function id; ≥ 0 implemented, −1 not. From SMCCC 1.1. */
  SMCCC_ARCH_FEATURES: 0x8000_0001,
  SMCCC_ARCH_SOC_ID: 0x8000_0002,
  SMCCC_ARCH_WORKAROUND_1: 0x8000_8000,
  SMCCC_ARCH_WORKAROUND_2: 0x8000_7fff,
  SMCCC_ARCH_WORKAROUND_3: 0x8000_3fff,
  /** Standard Hypervisor Service, fast SMC64, fn 0x20 (final DEN0057A). X1 = PV call id. */
  PV_TIME_FEATURES: 0xc500_0020,
  /** Standard Hypervisor Service, fast SMC64, fn 0x21 (final DEN0057A): returns the record IPA or −1. */
  PV_TIME_ST: 0xc500_0021,
} as const;

/** Name of a known SMCCC function id. */
export type SmcccFunctionName = keyof typeof SmcccFunction;

/**
 * PV_TIME_ST as the Aug–Sep 2019 v4 patch series numbered it (beta DEN0057A, with PV_TIME_LPT in
 * between). Superseded: the final specification, Linux and KVM use 0xC5000021, and the pvlab
 * host answers this id NOT_SUPPORTED like any unknown id. Exported so tests and traces can name it.
 */
export const PV_TIME_ST_DRAFT_V4 = 0xc500_0022;

const NAMES = new Map<number, SmcccFunctionName>(
  Object.entries(SmcccFunction).map(([name, id]) => [id, name as SmcccFunctionName]),
);

/** The spec name of a function id, or `unknown 0x…` (the draft id renders as `PV_TIME_ST (draft v4, superseded)`). */
export function smcccFunctionName(functionId: number): string {
  const name = NAMES.get(functionId);
  if (name) return name;
  if (functionId === PV_TIME_ST_DRAFT_V4) return 'PV_TIME_ST (draft v4, superseded)';
  return `unknown 0x${(functionId >>> 0).toString(16).padStart(8, '0')}`;
}
