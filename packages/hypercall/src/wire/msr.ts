import { defineBitLayout } from './bit-layout.js';

/** Synthetic MSR numbers — spec 01 "Synthetic MSRs / hypercall page". */
export const HV_X64_MSR_GUEST_OS_ID = 0x4000_0000n;
export const HV_X64_MSR_HYPERCALL = 0x4000_0001n;
export const HV_X64_MSR_VP_INDEX = 0x4000_0002n;

/** HV_X64_MSR_HYPERCALL: bit 0 Enable, bit 1 Locked, 11:2 RsvdP, 63:12 page GPFN. */
export const HypercallMsr = defineBitLayout('HV_X64_MSR_HYPERCALL', [
  { name: 'Enable', lsb: 0, width: 1 },
  { name: 'Locked', lsb: 1, width: 1 },
  { name: 'RsvdP', lsb: 2, width: 10, kind: 'reserved-preserve' },
  { name: 'Gpfn', lsb: 12, width: 52 },
] as const);

/** HV_X64_MSR_GUEST_OS_ID in the open-source form: bit 63 = 1, OS type, OS id, version, build. */
export const GuestOsIdOpenSource = defineBitLayout('HV_X64_MSR_GUEST_OS_ID (open source)', [
  { name: 'BuildNumber', lsb: 0, width: 16 },
  { name: 'Version', lsb: 16, width: 32 },
  { name: 'OsId', lsb: 48, width: 8 },
  { name: 'OsType', lsb: 56, width: 7 },
  { name: 'OpenSource', lsb: 63, width: 1 },
] as const);

/** OS type 1 = Linux in the open-source GUEST_OS_ID form. */
export const HV_GUEST_OS_TYPE_LINUX = 1;

/**
 * The GUEST_OS_ID value Linux writes: `0x8100 << 48 | kernel_version << 16`
 * (open source, OS type Linux, OS id 0, build 0).
 */
export function linuxGuestOsId(kernelVersion: number): bigint {
  return GuestOsIdOpenSource.encode({
    OpenSource: 1,
    OsType: HV_GUEST_OS_TYPE_LINUX,
    Version: kernelVersion,
  });
}

/** Packs a Linux kernel version the way `LINUX_VERSION_CODE` does: a << 16 | b << 8 | c. */
export function linuxVersionCode(major: number, minor: number, patch: number): number {
  return (major << 16) | (minor << 8) | Math.min(patch, 255);
}
