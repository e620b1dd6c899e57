import {
  type CpuidResult,
  HV_INTERFACE_SIGNATURE,
  HV_VENDOR_EBX,
  HV_VENDOR_ECX,
  HV_VENDOR_EDX,
  HvCpuidLeaf,
  HvFeature,
  type HvFeatureName,
} from '../wire/cpuid.js';
import type { GuestCpu } from './cpu.js';

/** What a guest learns from the hypervisor CPUID leaves (Linux `ms_hyperv`). */
export interface HyperVInfo {
  readonly maxLeaf: number;
  /** Leaf 0x40000003. */
  readonly features: CpuidResult;
  /** Leaf 0x40000004 EAX (recommendations). */
  readonly hints: number;
  /** Leaf 0x40000004 EBX. */
  readonly spinWaitRetryCount: number;
  /** Leaf 0x40000005 EAX. */
  readonly maxVps: number;
  /** `true` when the feature bit is set in its leaf. */
  has(feature: HvFeatureName): boolean;
}

/**
 * Detects Hyper-V the way Linux `ms_hyperv_platform` does: "Microsoft Hv" in leaf 0x40000000
 * and "Hv#1" in leaf 0x40000001. Returns `undefined` when not running on Hyper-V.
 */
export function detectHyperV(cpu: GuestCpu): HyperVInfo | undefined {
  const vendor = cpu.cpuid(HvCpuidLeaf.VENDOR_AND_MAX);
  if (vendor.ebx !== HV_VENDOR_EBX || vendor.ecx !== HV_VENDOR_ECX || vendor.edx !== HV_VENDOR_EDX)
    return undefined;
  if (vendor.eax < HvCpuidLeaf.IMPLEMENTATION_LIMITS) return undefined;
  if (cpu.cpuid(HvCpuidLeaf.INTERFACE).eax !== HV_INTERFACE_SIGNATURE) return undefined;
  const leaves = new Map<number, CpuidResult>();
  const leaf = (n: number): CpuidResult => {
    let r = leaves.get(n);
    if (!r) {
      r = n <= vendor.eax ? cpu.cpuid(n) : { eax: 0, ebx: 0, ecx: 0, edx: 0 };
      leaves.set(n, r);
    }
    return r;
  };
  const enlightenment = leaf(HvCpuidLeaf.ENLIGHTENMENT_INFO);
  return {
    maxLeaf: vendor.eax,
    features: leaf(HvCpuidLeaf.FEATURES),
    hints: enlightenment.eax,
    spinWaitRetryCount: enlightenment.ebx,
    maxVps: leaf(HvCpuidLeaf.IMPLEMENTATION_LIMITS).eax,
    has(feature) {
      const f = HvFeature[feature];
      return ((leaf(f.leaf)[f.register] >>> f.bit) & 1) === 1;
    },
  };
}
