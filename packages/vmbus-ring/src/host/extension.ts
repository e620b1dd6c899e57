import type { HvFeatureName } from '@pvlab/hypercall';
import type { HostExtension } from '@pvlab/hypercall/host';
import type { VmbusServerOptions } from './server-state.js';
import { vmbusSnapshotPart } from './snapshot.js';
import { SynicHost } from './synic.js';
import { postMessage, SynicPorts, signalEvent } from './synic-hypercalls.js';
import { VMBUS_PACKAGE, VMBUS_STATE, vmbusHostState } from './vmbus-host-state.js';
import { VmbusServer } from './vmbus-server.js';

/** Feature bits the package exposes: the two SynIC hypercalls' privileges and the SynIC MSRs. */
export const VMBUS_FEATURES: readonly HvFeatureName[] = ['PostMessages', 'SignalEvents', 'AccessSynicRegs'];

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
