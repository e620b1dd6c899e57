import type { HostExtension } from '@pvlab/hypercall/host';
import { tlbIpiExtension } from '@pvlab/tlb-ipi/host';
import { EchoDevice, vmbusExtension } from '@pvlab/vmbus-ring/host';
import { vtlExtension } from '@pvlab/vtl/host';
import { HostileDevice } from './hostile-host.js';
import type { ResolvedVmOptions } from './options.js';
import type { X64PackageName } from './package-names.js';

/** Builds a package's host extension from the VM's resolved options. */
export type PackageExtensionFactory = (options: ResolvedVmOptions) => HostExtension;

/**
 * The packages `createVm` installs besides the core, by directory name. Each issue that fills a
 * package adds its host extension here; `createVm({ packages: { name: false } })` drops one.
 */
export const PACKAGE_EXTENSIONS: Readonly<Record<X64PackageName, PackageExtensionFactory>> = {
  'tlb-ipi': (options) => tlbIpiExtension({ flush: options.tlbFlush }),
  // After tlb-ipi: it hooks tlb-ipi's flushes for the TLB-flush inhibit.
  vtl: () => vtlExtension(),
  // VMBus: SynIC, HvCallPostMessage/SignalEvent, the channel server, and an echo device.
  'vmbus-ring': (options) => {
    const echo = new EchoDevice();
    const device = options.hostileHost ? new HostileDevice(echo, definedOnly(options.hostileHost)) : echo;
    return vmbusExtension({ devices: [device] });
  },
};

/** `o` without its undefined properties (zod's optional outputs vs exactOptionalPropertyTypes). */
export function definedOnly<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
