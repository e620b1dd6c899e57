import type { HostExtension } from '@pvlab/hypercall/host';

/**
 * The packages `createVm` installs besides the core, by directory name. Each issue that fills a
 * package adds its host extension here; `createVm({ packages: { name: false } })` drops one.
 */
export const PACKAGE_EXTENSIONS: Readonly<Record<string, HostExtension>> = {};

/** Names accepted by the `packages` option. */
export const OPTIONAL_PACKAGES: readonly string[] = Object.keys(PACKAGE_EXTENSIONS);
