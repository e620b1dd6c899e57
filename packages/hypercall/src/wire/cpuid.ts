/**
 * Hyper-V CPUID leaves and feature bits — spec 01 "CPUID bits relevant to these specs".
 */

/** The hypervisor CPUID leaves pvlab reports. */
export const HvCpuidLeaf = {
  VENDOR_AND_MAX: 0x4000_0000,
  INTERFACE: 0x4000_0001,
  VERSION: 0x4000_0002,
  FEATURES: 0x4000_0003,
  ENLIGHTENMENT_INFO: 0x4000_0004,
  IMPLEMENTATION_LIMITS: 0x4000_0005,
  HARDWARE_FEATURES: 0x4000_0006,
  ISOLATION_CONFIG: 0x4000_000c,
} as const;

/** "Microsoft Hv" in EBX, ECX, EDX of leaf 0x40000000. */
export const HV_VENDOR_EBX = 0x7263_694d; // "Micr"
export const HV_VENDOR_ECX = 0x666f_736f; // "osof"
export const HV_VENDOR_EDX = 0x7648_2074; // "t Hv"
/** "Hv#1" in EAX of leaf 0x40000001: the Hyper-V hypercall interface. */
export const HV_INTERFACE_SIGNATURE = 0x3123_7648;
/** Leaf 0x40000004 EBX value that means "never notify long spin waits". */
export const HV_SPIN_WAIT_NEVER_NOTIFY = 0xffff_ffff;

/** A CPUID register. */
export type CpuidRegister = 'eax' | 'ebx' | 'ecx' | 'edx';

/** The four registers of one CPUID leaf. */
export interface CpuidResult {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** One feature bit: where the partition exposes it. */
export interface HvFeatureBit {
  readonly leaf: number;
  readonly register: CpuidRegister;
  readonly bit: number;
  readonly description: string;
}

/**
 * The feature, privilege and recommendation bits that pvlab models, by their spec names
 * (0x40000003 = partition privileges and features, 0x40000004 = recommendations).
 */
export const HvFeature = {
  AccessHypercallMsrs: {
    leaf: 0x4000_0003,
    register: 'eax',
    bit: 5,
    description: 'GUEST_OS_ID and HYPERCALL MSRs',
  },
  AccessSynicRegs: {
    leaf: 0x4000_0003,
    register: 'eax',
    bit: 2,
    description: 'SynIC MSRs (SCONTROL, SVERSION, SIEFP, SIMP, EOM, SINT0-15)',
  },
  AccessVpIndex: { leaf: 0x4000_0003, register: 'eax', bit: 6, description: 'VP_INDEX MSR' },
  CreatePartitions: { leaf: 0x4000_0003, register: 'ebx', bit: 0, description: 'CreatePartitions privilege' },
  AccessPartitionId: {
    leaf: 0x4000_0003,
    register: 'ebx',
    bit: 1,
    description: 'AccessPartitionId privilege',
  },
  PostMessages: { leaf: 0x4000_0003, register: 'ebx', bit: 4, description: 'HvCallPostMessage' },
  SignalEvents: { leaf: 0x4000_0003, register: 'ebx', bit: 5, description: 'HvCallSignalEvent' },
  Debugging: { leaf: 0x4000_0003, register: 'ebx', bit: 11, description: 'Debugging privilege' },
  CpuManagement: { leaf: 0x4000_0003, register: 'ebx', bit: 12, description: 'CpuManagement privilege' },
  EnableExtendedGvaRangesForFlushVaList: {
    leaf: 0x4000_0003,
    register: 'ebx',
    bit: 15,
    description: 'extended GVA ranges privilege',
  },
  AccessVsm: { leaf: 0x4000_0003, register: 'ebx', bit: 16, description: 'VSM hypercalls' },
  AccessVpRegisters: { leaf: 0x4000_0003, register: 'ebx', bit: 17, description: 'Get/SetVpRegisters' },
  FastHypercallOutput: {
    leaf: 0x4000_0003,
    register: 'ebx',
    bit: 19,
    description: 'fast hypercall output privilege',
  },
  EnableExtendedHypercalls: {
    leaf: 0x4000_0003,
    register: 'ebx',
    bit: 20,
    description: 'extended hypercalls',
  },
  StartVirtualProcessor: {
    leaf: 0x4000_0003,
    register: 'ebx',
    bit: 21,
    description: 'HvCallStartVirtualProcessor',
  },
  Isolation: { leaf: 0x4000_0003, register: 'ebx', bit: 22, description: 'isolation privilege' },
  XmmFastHypercallInput: {
    leaf: 0x4000_0003,
    register: 'edx',
    bit: 4,
    description: 'XMM fast hypercall input',
  },
  ExtendedGvaRangesForFlush: {
    leaf: 0x4000_0003,
    register: 'edx',
    bit: 14,
    description: 'extended GVA ranges for flush',
  },
  XmmFastHypercallOutput: {
    leaf: 0x4000_0003,
    register: 'edx',
    bit: 15,
    description: 'XMM fast hypercall output',
  },
  HypercallMsrLock: { leaf: 0x4000_0003, register: 'edx', bit: 18, description: 'HYPERCALL MSR Locked bit' },
  CrossVtlFlush: { leaf: 0x4000_0003, register: 'edx', bit: 28, description: 'cross-VTL flush' },
  TranslateGvaFlags: { leaf: 0x4000_0003, register: 'edx', bit: 30, description: 'translate GVA flags' },
  LocalTlbFlushRecommended: {
    leaf: 0x4000_0004,
    register: 'eax',
    bit: 1,
    description: 'local TLB flush via hypercall',
  },
  RemoteTlbFlushRecommended: {
    leaf: 0x4000_0004,
    register: 'eax',
    bit: 2,
    description: 'remote TLB flush via hypercall',
  },
  DeprecateAutoEoi: { leaf: 0x4000_0004, register: 'eax', bit: 9, description: 'deprecate AutoEOI' },
  ClusterIpiRecommended: {
    leaf: 0x4000_0004,
    register: 'eax',
    bit: 10,
    description: 'synthetic cluster IPI',
  },
  ExProcessorMasksRecommended: {
    leaf: 0x4000_0004,
    register: 'eax',
    bit: 11,
    description: 'Ex processor masks (HV_VP_SET)',
  },
  NestedRecommended: { leaf: 0x4000_0004, register: 'eax', bit: 12, description: 'nested hypervisor' },
  SlatInUse: { leaf: 0x4000_0006, register: 'eax', bit: 3, description: 'SLAT in use' },
} as const satisfies Record<string, HvFeatureBit>;

/** The spec name of a modelled feature bit. */
export type HvFeatureName = keyof typeof HvFeature;
