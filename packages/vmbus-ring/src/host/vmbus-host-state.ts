/**
 * The VMBus host state a partition keeps under `VMBUS_STATE` once `vmbusExtension` is installed:
 * the SynIC, its ports and the server. Apart from the extension so that the snapshot part, which
 * the extension names, can read it without importing the extension back.
 */
import { ExtensionKey, type HvPartition } from '@pvlab/hypercall/host';
import type { SynicHost } from './synic.js';
import type { SynicPorts } from './synic-hypercalls.js';
import type { VmbusServer } from './vmbus-server.js';

/** The package name the host state is kept under. */
export const VMBUS_PACKAGE = 'vmbus-ring';

/** The package's host state in a partition. */
export interface VmbusHostState {
  readonly synic: SynicHost;
  readonly ports: SynicPorts;
  readonly server: VmbusServer;
}

/** The key of the VMBus host state in a partition. */
export const VMBUS_STATE = new ExtensionKey<VmbusHostState>(VMBUS_PACKAGE);

/** The VMBus host state of a partition the extension is installed in. */
export function vmbusHostState(partition: HvPartition): VmbusHostState {
  const s = partition.extensionState(VMBUS_STATE);
  if (s === undefined)
    throw new Error(`the partition has no ${VMBUS_PACKAGE} host: install vmbusExtension()`);
  return s;
}
