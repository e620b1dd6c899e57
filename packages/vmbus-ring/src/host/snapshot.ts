import { HV_PAGE_SIZE } from '@pvlab/hypercall';
import {
  checkSnapshotVersion,
  readSnapshotObject,
  type SnapshotData,
  type SnapshotPart,
} from '@pvlab/hypercall/host';
import { saveDevices } from './snapshot-devices.js';
import { FIELDS } from './snapshot-fields.js';
import { savePorts } from './snapshot-ports.js';
import { prepareServer, saveServer } from './snapshot-server.js';
import { prepareSynic, saveSynic } from './snapshot-synic.js';
import { VMBUS_PACKAGE, type VmbusHostState } from './vmbus-host-state.js';

/**
 * The VMBus host state as snapshot part `vmbus-ring` (v1): `{ synic, ports, server, devices }` —
 * the SynIC of every VP (SCONTROL, SIMP, SIEFP, the 16 SINTs, the messages queued for a busy
 * slot), the SynIC ports' connection table, the VMBus server (connection, channels with the
 * rings of open ones, GPADLs, counters, next relid and monitor id) and each device's own state.
 * The field table is in the package README. Restore checks everything against this VM (its VPs,
 * RAM, devices, offered versions) before it changes anything; it does not call the devices'
 * `open()`: open channels get their rebuilt rings through `restored()`.
 */
export function vmbusSnapshotPart(state: VmbusHostState): SnapshotPart {
  const part: SnapshotPart = {
    name: VMBUS_PACKAGE,
    version: 1,
    supportedVersions: [1],
    save(): SnapshotData {
      return {
        synic: saveSynic(state.synic),
        ports: savePorts(state.ports),
        server: saveServer(state.server),
        devices: saveDevices(state.server),
      };
    },
    restore(data: SnapshotData, version: number): void {
      checkSnapshotVersion(part, version);
      const o = readSnapshotObject(data, VMBUS_PACKAGE, FIELDS.part);
      const partition = state.server.partition;
      const ramContains = (gpa: bigint) => partition.memory.contains(gpa, HV_PAGE_SIZE);
      const applySynic = prepareSynic(state.synic, o.synic, `${VMBUS_PACKAGE}.synic`, ramContains);
      const applyServer = prepareServer(
        { server: state.server, ports: state.ports, vpCount: partition.vps.length, ramContains },
        { server: o.server, ports: o.ports, devices: o.devices },
        VMBUS_PACKAGE,
      );
      applySynic();
      applyServer();
    },
  };
  return part;
}
