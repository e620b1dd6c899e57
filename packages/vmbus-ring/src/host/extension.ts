import type { HvFeatureName } from '@pvlab/hypercall';
import { ExtensionKey, type HostExtension, type HvPartition } from '@pvlab/hypercall/host';
import { vmbusSnapshotPart } from './snapshot.js';
import { SynicHost } from './synic.js';
import { postMessage, SynicPorts, signalEvent } from './synic-hypercalls.js';
import { VmbusServer, type VmbusServerOptions } from './vmbus-server.js';

/** The package name the host state is kept under. */
export const VMBUS_PACKAGE = 'vmbus-ring';

/** Feature bits the package exposes: the two SynIC hypercalls' privileges and the SynIC MSRs. */
export const VMBUS_FEATURES: readonly HvFeatureName[] = ['PostMessages', 'SignalEvents', 'AccessSynicRegs'];

/** The package's host state in a partition. */
export interface VmbusHostState {
  readonly synic: SynicHost;
  readonly ports: SynicPorts;
  readonly server: VmbusServer;
}

/** The key of the VMBus host state in a partition. */
export const VMBUS_STATE = new ExtensionKey<VmbusHostState>(VMBUS_PACKAGE);

/** Options of `vmbusExtension` (those of the server). */
export type VmbusHostOptions = VmbusServerOptions;

/**
 * The VMBus host side as a `HostExtension`: the SynIC MSRs (gated by AccessSynicRegs),
 * HvCallPostMessage (0x005C, PostMessages) and HvCallSignalEvent (0x005D, SignalEvents), and a
 * VMBus server offering `devices`. Bad options are a RangeError naming the value.
 */
export function vmbusExtension(options: VmbusHostOptions = { devices: [] }): HostExtension {
  return {
    name: VMBUS_PACKAGE,
    features: VMBUS_FEATURES,
    install(partition) {
      const synic = new SynicHost(partition);
      synic.installMsrs();
      const ports = new SynicPorts();
      partition.dispatcher.register(postMessage(ports));
      partition.dispatcher.register(signalEvent(ports));
      const server = new VmbusServer(partition, synic, ports, options);
      partition.setExtensionState(VMBUS_STATE, { synic, ports, server });
    },
    snapshotPart: (partition) => vmbusSnapshotPart(vmbusHostState(partition)),
  };
}

/** The VMBus host state of a partition the extension is installed in. */
export function vmbusHostState(partition: HvPartition): VmbusHostState {
  const s = partition.extensionState(VMBUS_STATE);
  if (s === undefined)
    throw new Error(`the partition has no ${VMBUS_PACKAGE} host: install vmbusExtension()`);
  return s;
}
