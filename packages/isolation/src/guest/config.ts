import { HvCpuidLeaf } from '@pvlab/hypercall';
import { detectHyperV, type GuestCpu } from '@pvlab/hypercall/guest';
import { decodeIsolationConfig, type IsolationConfig, IsolationType } from '../wire/isolation-config.js';

/**
 * Which Linux computes the boundary (spec 05 rule 1): `linux-6.3` only when
 * SharedGpaBoundaryActive = 1; `linux-5.16` from SharedGpaBoundaryBits unconditionally.
 */
export type IsolationEra = 'linux-5.16' | 'linux-6.3';

/** What a guest learns about isolation at boot (Linux `ms_hyperv.isolation_config_*`, `shared_gpa_boundary`). */
export interface GuestIsolation {
  /** The Isolation privilege is present and leaf 0x4000000C was read. */
  readonly isolated: boolean;
  /** The decoded leaf (all zero when not isolated). */
  readonly config: IsolationConfig;
  /** The shared GPA boundary the guest adds to shared pages; 0 in ordinary VMs. */
  readonly boundary: bigint;
  /** vTOM mode (Linux `hv_vtom_init`): isolation type VBS, or any type with a paravisor (rule 2). */
  readonly vtom: boolean;
}

const NOT_ISOLATED: GuestIsolation = {
  isolated: false,
  config: {
    paravisorPresent: false,
    isolationType: 0,
    sharedGpaBoundaryActive: false,
    sharedGpaBoundaryBits: 0,
  },
  boundary: 0n,
  vtom: false,
};

/**
 * Reads the isolation configuration as Linux `ms_hyperv_init_platform` does: leaf 0x4000000C only
 * when the Isolation privilege (0x40000003 EBX bit 22) is set; the boundary per `era`. Fully
 * enlightened TDX (no paravisor) is reported as not vTOM; its TDX shared bit is not modelled.
 */
export function readIsolationConfig(cpu: GuestCpu, era: IsolationEra = 'linux-6.3'): GuestIsolation {
  const hv = detectHyperV(cpu);
  if (hv === undefined || !hv.has('Isolation')) return NOT_ISOLATED;
  const config = decodeIsolationConfig(cpu.cpuid(HvCpuidLeaf.ISOLATION_CONFIG));
  const computeBoundary = era === 'linux-5.16' || config.sharedGpaBoundaryActive;
  const vtom =
    config.isolationType !== IsolationType.NONE &&
    (config.isolationType === IsolationType.VBS || config.paravisorPresent);
  return {
    isolated: true,
    config,
    boundary: computeBoundary ? 1n << BigInt(config.sharedGpaBoundaryBits) : 0n,
    vtom,
  };
}
