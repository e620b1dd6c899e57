/** Hyper-V pages are always 4 KiB (Linux `HV_HYP_PAGE_SIZE`), whatever the guest's page size. */
export const HV_PAGE_SHIFT = 12;
export const HV_PAGE_SIZE = 1 << HV_PAGE_SHIFT;
/** Parameter lists are 8-byte aligned and padded to 8-byte multiples (spec 01 rule 4). */
export const HV_PARAMETER_ALIGNMENT = 8;

/** The CPU vendor decides the hypercall instruction the hypercall page holds. */
export type CpuVendor = 'intel' | 'amd';

/**
 * The code the hypervisor writes into the hypercall page on Enable (spec 01 rules 14–15): the
 * 3-byte VMCALL (0F 01 C1, Intel) or VMMCALL (0F 01 D9, AMD) followed by RET (C3).
 */
export function hypercallPageCode(vendor: CpuVendor): Uint8Array {
  return Uint8Array.of(0x0f, 0x01, vendor === 'intel' ? 0xc1 : 0xd9, 0xc3);
}
