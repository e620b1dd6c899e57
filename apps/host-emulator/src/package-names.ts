/**
 * The optional packages by name and architecture. Kept apart from the factories in `packages.ts`
 * so that option parsing can name them without importing what builds them (no import cycle).
 */

/** The packages `createVm` installs on x64 VMs besides the core, in install order. */
export const X64_PACKAGES = ['tlb-ipi', 'vtl', 'vmbus-ring'] as const;

/** An x64 optional package. */
export type X64PackageName = (typeof X64_PACKAGES)[number];

/** Packages of arm64 VMs, which `createVm({ arch: 'arm64' })` composes itself (no Hyper-V dispatcher). */
export const ARM64_PACKAGES: readonly string[] = ['pv-time'];

/** The architecture each optional package belongs to. */
export const PACKAGE_ARCH: Readonly<Record<string, 'x64' | 'arm64'>> = {
  ...Object.fromEntries(X64_PACKAGES.map((name) => [name, 'x64' as const])),
  ...Object.fromEntries(ARM64_PACKAGES.map((name) => [name, 'arm64' as const])),
};

/** Names accepted by the `packages` option. */
export const OPTIONAL_PACKAGES: readonly string[] = Object.keys(PACKAGE_ARCH);
