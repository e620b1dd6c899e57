import { SmcccFunction } from '../wire/ids.js';
import { SMCCC_RET_NOT_SUPPORTED, SMCCC_RET_SUCCESS } from '../wire/return-codes.js';
import {
  decodeSmcccVersion,
  SMCCC_VERSION_1_1,
  type SmcccVersion,
  smcccVersionAtLeast,
} from '../wire/version.js';
import type { SmcccGuestCpu } from './cpu.js';

/** The probe step that said no. */
export type PvTimeProbeStep = 'SMCCC_VERSION' | 'SMCCC_ARCH_FEATURES' | 'PV_TIME_FEATURES';

/** The result of `hasPvStealClock`. */
export type PvStealClockProbe =
  | { readonly available: true; readonly smcccVersion: SmcccVersion }
  | {
      readonly available: false;
      readonly smcccVersion: SmcccVersion;
      /** The first step that failed. */
      readonly failedStep: PvTimeProbeStep;
      /** That step's X0 (for SMCCC_VERSION: the raw result, NOT_SUPPORTED when the conduit is 1.0). */
      readonly x0: bigint;
    };

/**
 * Linux's `has_pv_steal_clock` (arch/arm64/kernel/paravirt.c), spec 06 rule 2: the conduit must
 * be SMCCC ≥ 1.1, then ARCH_FEATURES(PV_TIME_FEATURES) must be SUCCESS, then
 * PV_TIME_FEATURES(PV_TIME_ST) must be SUCCESS. Stops at the first step that fails.
 */
export function hasPvStealClock(cpu: SmcccGuestCpu): PvStealClockProbe {
  const versionX0 = cpu.smccc(SmcccFunction.SMCCC_VERSION)[0] ?? SMCCC_RET_NOT_SUPPORTED;
  const smcccVersion = decodeSmcccVersion(versionX0);
  if (!smcccVersionAtLeast(smcccVersion, SMCCC_VERSION_1_1)) {
    return { available: false, smcccVersion, failedStep: 'SMCCC_VERSION', x0: versionX0 };
  }
  const steps = [
    ['SMCCC_ARCH_FEATURES', SmcccFunction.SMCCC_ARCH_FEATURES, SmcccFunction.PV_TIME_FEATURES],
    ['PV_TIME_FEATURES', SmcccFunction.PV_TIME_FEATURES, SmcccFunction.PV_TIME_ST],
  ] as const;
  for (const [failedStep, functionId, queried] of steps) {
    const x0 = cpu.smccc(functionId, BigInt(queried))[0] ?? SMCCC_RET_NOT_SUPPORTED;
    if (x0 !== SMCCC_RET_SUCCESS) return { available: false, smcccVersion, failedStep, x0 };
  }
  return { available: true, smcccVersion };
}
