import { type CpuidResult, defineBitLayout, HvCpuidLeaf } from '@pvlab/hypercall';

/**
 * CPUID 0x4000000C EAX (Linux `isolation_config_a`) — spec 05 "CPUID 0x4000000C". A CPUID
 * register is 32 bits; the layout's upper half is not part of the register.
 */
export const IsolationConfigEax = defineBitLayout('CPUID 0x4000000C EAX', [
  { name: 'ParavisorPresent', lsb: 0, width: 1 },
  { name: 'Rsvd', lsb: 1, width: 31, kind: 'reserved-ignore' },
  { name: 'NotInRegister', lsb: 32, width: 32, kind: 'reserved-ignore' },
] as const);

/** CPUID 0x4000000C EBX (Linux `isolation_config_b`): type, boundary active, boundary bits. */
export const IsolationConfigEbx = defineBitLayout('CPUID 0x4000000C EBX', [
  { name: 'IsolationType', lsb: 0, width: 4 },
  { name: 'Rsvd4', lsb: 4, width: 1, kind: 'reserved-ignore' },
  { name: 'SharedGpaBoundaryActive', lsb: 5, width: 1 },
  { name: 'SharedGpaBoundaryBits', lsb: 6, width: 6 },
  { name: 'Rsvd12', lsb: 12, width: 20, kind: 'reserved-ignore' },
  { name: 'NotInRegister', lsb: 32, width: 32, kind: 'reserved-ignore' },
] as const);

/** EBX 3:0 IsolationType. */
export const IsolationType = { NONE: 0, VBS: 1, SNP: 2, TDX: 3 } as const;

/** A known isolation type's name. */
export type IsolationTypeName = keyof typeof IsolationType;

/** The isolation type's spec name, or `unknown isolation type N` (an open enum). */
export function isolationTypeName(type: number): string {
  const entry = Object.entries(IsolationType).find(([, v]) => v === type);
  return entry ? entry[0] : `unknown isolation type ${type}`;
}

/** The decoded leaf 0x4000000C. */
export interface IsolationConfig {
  readonly paravisorPresent: boolean;
  readonly isolationType: number;
  readonly sharedGpaBoundaryActive: boolean;
  /** SharedGpaBoundaryBits (0..63): boundary = 1 << bits. */
  readonly sharedGpaBoundaryBits: number;
}

/** The shared GPA boundary (vTOM) for SharedGpaBoundaryBits: `1n << bits`. */
export function sharedGpaBoundary(bits: number): bigint {
  if (!Number.isInteger(bits) || bits < 0 || bits > 63) {
    throw new RangeError(`SharedGpaBoundaryBits ${bits} is not accepted: use an integer 0..63`);
  }
  return 1n << BigInt(bits);
}

/** The registers of leaf 0x4000000C for a configuration (ECX, EDX reserved = 0). */
export function encodeIsolationConfig(config: IsolationConfig): CpuidResult {
  return {
    eax: Number(IsolationConfigEax.encode({ ParavisorPresent: config.paravisorPresent ? 1 : 0 })),
    ebx: Number(
      IsolationConfigEbx.encode({
        IsolationType: config.isolationType,
        SharedGpaBoundaryActive: config.sharedGpaBoundaryActive ? 1 : 0,
        SharedGpaBoundaryBits: config.sharedGpaBoundaryBits,
      }),
    ),
    ecx: 0,
    edx: 0,
  };
}

/** Decodes leaf 0x4000000C; reserved bits are ignored, as Linux's FIELD_GET does. */
export function decodeIsolationConfig(regs: CpuidResult): IsolationConfig {
  const a = IsolationConfigEax.decode(BigInt(regs.eax >>> 0));
  const b = IsolationConfigEbx.decode(BigInt(regs.ebx >>> 0));
  return {
    paravisorPresent: a.ParavisorPresent === 1,
    isolationType: b.IsolationType,
    sharedGpaBoundaryActive: b.SharedGpaBoundaryActive === 1,
    sharedGpaBoundaryBits: b.SharedGpaBoundaryBits,
  };
}

/** The leaf number, for readers who look for it here. */
export const ISOLATION_CONFIG_LEAF = HvCpuidLeaf.ISOLATION_CONFIG;
