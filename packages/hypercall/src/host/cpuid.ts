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
import type { FeatureView } from './descriptor.js';

/** pvlab's hypervisor version in leaf 0x40000002 (EAX build, EBX major.minor). */
const PVLAB_BUILD = 1;
const PVLAB_MAJOR_MINOR = (0 << 16) | 1;

/** The feature bits and values a partition exposes, and the CPUID leaves built from them. */
export class PartitionFeatures implements FeatureView {
  readonly #exposed: ReadonlySet<HvFeatureName>;
  readonly spinWaitRetryCount: number;
  readonly #leaves = new Map<number, CpuidResult>();

  constructor(options: {
    exposed: Iterable<HvFeatureName>;
    spinWaitRetryCount: number;
    vcpus: number;
    /** Extra hypervisor leaves an installed package reports (e.g. isolation config). */
    extraLeaves?: ReadonlyMap<number, CpuidResult>;
  }) {
    this.#exposed = new Set(options.exposed);
    this.spinWaitRetryCount = options.spinWaitRetryCount >>> 0;
    const leaves = this.#leaves;
    const zero = (): CpuidResult => ({ eax: 0, ebx: 0, ecx: 0, edx: 0 });
    for (let leaf = HvCpuidLeaf.VENDOR_AND_MAX; leaf <= HvCpuidLeaf.HARDWARE_FEATURES; leaf++)
      leaves.set(leaf, zero());
    for (const [leaf, regs] of options.extraLeaves ?? []) leaves.set(leaf, { ...regs });
    for (const name of this.#exposed) {
      const f = HvFeature[name];
      const regs = leaves.get(f.leaf) ?? zero();
      regs[f.register] = (regs[f.register] | (1 << f.bit)) >>> 0;
      leaves.set(f.leaf, regs);
    }
    const maxLeaf = Math.max(...leaves.keys());
    Object.assign(leaves.get(HvCpuidLeaf.VENDOR_AND_MAX)!, {
      eax: maxLeaf,
      ebx: HV_VENDOR_EBX,
      ecx: HV_VENDOR_ECX,
      edx: HV_VENDOR_EDX,
    });
    leaves.get(HvCpuidLeaf.INTERFACE)!.eax = HV_INTERFACE_SIGNATURE;
    Object.assign(leaves.get(HvCpuidLeaf.VERSION)!, { eax: PVLAB_BUILD, ebx: PVLAB_MAJOR_MINOR });
    leaves.get(HvCpuidLeaf.ENLIGHTENMENT_INFO)!.ebx = this.spinWaitRetryCount;
    Object.assign(leaves.get(HvCpuidLeaf.IMPLEMENTATION_LIMITS)!, { eax: options.vcpus, ebx: options.vcpus });
  }

  has(feature: HvFeatureName): boolean {
    return this.#exposed.has(feature);
  }

  /** The exposed feature names, sorted. */
  exposed(): HvFeatureName[] {
    return [...this.#exposed].sort();
  }

  /** CPUID for a hypervisor leaf; a leaf pvlab does not report reads as zeros, as on KVM. */
  cpuid(leaf: number): CpuidResult {
    const regs = this.#leaves.get(leaf >>> 0);
    return regs ? { ...regs } : { eax: 0, ebx: 0, ecx: 0, edx: 0 };
  }
}
