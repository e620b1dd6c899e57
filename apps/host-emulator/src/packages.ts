import type { HostExtension } from '@pvlab/hypercall/host';
import { tlbIpiExtension } from '@pvlab/tlb-ipi/host';
import type { ResolvedVmOptions } from './options.js';

/** Builds a package's host extension from the VM's resolved options. */
export type PackageExtensionFactory = (options: ResolvedVmOptions) => HostExtension;

/**
 * The packages `createVm` installs besides the core, by directory name. Each issue that fills a
 * package adds its host extension here; `createVm({ packages: { name: false } })` drops one.
 */
export const PACKAGE_EXTENSIONS: Readonly<Record<string, PackageExtensionFactory>> = {
  'tlb-ipi': (options) => tlbIpiExtension({ flush: options.tlbFlush }),
};

/** Names accepted by the `packages` option. */
export const OPTIONAL_PACKAGES: readonly string[] = Object.keys(PACKAGE_EXTENSIONS);
