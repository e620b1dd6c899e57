/**
 * The devices in the `vmbus-ring` snapshot part: a channel names its device by its index in the
 * server's order, checked by its instance GUID; each device's own state is saved beside.
 */
import { type SnapshotData, SnapshotError, showSnapshotText, showSnapshotValue } from '@pvlab/hypercall/host';
import { guidString } from '../wire/guid.js';
import type { VmbusDevice } from './device.js';
import { FIELDS, fieldError, readList, readObject } from './snapshot-fields.js';
import type { VmbusServer } from './vmbus-server.js';

/** How a refusal names a device: its index, name and instance GUID. */
export function deviceLabel(index: number, d: VmbusDevice): string {
  return `#${index} '${d.name}' (instance ${guidString(d.interfaceInstance)})`;
}

/** Each device's name, instance GUID and own state (`saveState`), in the server's order. */
export function saveDevices(server: VmbusServer): SnapshotData {
  return server.devices.map((d) => ({
    name: d.name,
    instance: guidString(d.interfaceInstance),
    state: d.saveState?.() ?? null,
  }));
}

/** A device named by its index in the server's order, checked by its instance GUID. */
export function readDeviceRef(
  server: VmbusServer,
  raw: SnapshotData | undefined,
  where: string,
): VmbusDevice {
  const d = readObject(raw, where, FIELDS.deviceRef);
  const index = d.index;
  const device = Number.isSafeInteger(index) ? server.devices[index as number] : undefined;
  const name = typeof d.name === 'string' ? ` '${showSnapshotText(d.name)}'` : '';
  const instance = typeof d.instance === 'string' ? d.instance : '?';
  if (device === undefined || guidString(device.interfaceInstance) !== instance) {
    const has = server.devices.map((dev, i) => deviceLabel(i, dev)).join(', ') || 'none';
    throw new SnapshotError(
      `${where}: device #${showSnapshotValue(index)}${name} (instance ${showSnapshotText(instance)}) is not on this VM (it has: ${has})`,
    );
  }
  return device;
}

/** Checks each device's saved state against this VM's devices; returns what applies them. */
export function prepareDevices(
  server: VmbusServer,
  raw: SnapshotData | undefined,
  where: string,
): () => void {
  const list = readList(raw, where);
  const applies: (() => void)[] = [];
  list.forEach((d, i) => {
    const w = `${where}[${i}]`;
    const f = readObject(d, w, FIELDS.device);
    const device = readDeviceRef(server, { index: i, instance: f.instance ?? null, name: f.name ?? null }, w);
    if (f.state === null) return;
    if (device.prepareRestore === undefined)
      throw fieldError(`${w}.state`, f.state, `null: device ${deviceLabel(i, device)} keeps no state`);
    applies.push(device.prepareRestore(f.state ?? null, `${w}.state`));
  });
  if (list.length !== server.devices.length)
    throw new SnapshotError(`${where}: ${list.length} device(s); this VM has ${server.devices.length}`);
  return () => {
    for (const apply of applies) apply();
  };
}
