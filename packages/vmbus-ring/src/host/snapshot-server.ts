/**
 * The VMBus server's share of the `vmbus-ring` snapshot part: the connection, every channel
 * (`snapshot-channels`), every GPADL (`snapshot-gpadls`), the counters, the SynIC ports'
 * connection table (`snapshot-ports`) and each device's own state (`snapshot-devices`).
 */
import { readSnapshotU64, type SnapshotData, snapshotCounts, snapshotU64 } from '@pvlab/hypercall/host';
import { MONITOR_IDS } from '../wire/monitor-page.js';
import { HV_SYNIC_SINT_COUNT } from '../wire/synic.js';
import { initiateContactConnectionId, VmbusVersion, vmbusVersionName } from '../wire/versions.js';
import type { VmbusConnection, VmbusServerCounters } from './server-state.js';
import { readChannels, readOpenChannels, saveChannel } from './snapshot-channels.js';
import type { ServerContext } from './snapshot-context.js';
import { prepareDevices } from './snapshot-devices.js';
import {
  FIELDS,
  fieldError,
  MAX_NEXT_RELID,
  readCount,
  readInt,
  readList,
  readObject,
} from './snapshot-fields.js';
import { readGpadl, saveGpadl } from './snapshot-gpadls.js';
import { readPorts } from './snapshot-ports.js';
import type { VmbusServer } from './vmbus-server.js';

const COUNTERS: readonly (keyof VmbusServerCounters)[] = [
  'messagesIn',
  'messagesOut',
  'ignored',
  'refusedBusy',
  'signals',
];

/** The server as saved: the connection, next relid and monitor id, counters, channels, GPADLs. */
export function saveServer(server: VmbusServer): SnapshotData {
  const s = server.state();
  const c = s.connection;
  return {
    connection:
      c === null
        ? null
        : {
            version: c.version,
            targetVp: c.targetVcpu,
            messageSint: c.messageSint,
            messageConnectionId: initiateContactConnectionId(c.version),
            monitorPages: {
              parentToChild: snapshotU64(c.monitorPages[0]),
              childToParent: snapshotU64(c.monitorPages[1]),
            },
          },
    nextRelid: s.nextRelid,
    nextMonitorId: s.nextMonitorId,
    counters: snapshotCounts(s.counters),
    channels: s.channels.map((ch) => saveChannel(server, ch)),
    gpadls: s.gpadls.map(saveGpadl),
  };
}

/** Checks `server`, `ports` and `devices` against this VM; returns what applies them. */
export function prepareServer(
  ctx: ServerContext,
  data: {
    server: SnapshotData | undefined;
    ports: SnapshotData | undefined;
    devices: SnapshotData | undefined;
  },
  where: string,
): () => void {
  const { server } = ctx;
  const o = readObject(data.server, `${where}.server`, FIELDS.server);
  const at = `${where}.server`;
  const connection = readConnection(ctx, o.connection, `${at}.connection`);
  const nextRelid = readInt(o.nextRelid, `${at}.nextRelid`, 1, MAX_NEXT_RELID);
  const nextMonitorId = readInt(o.nextMonitorId, `${at}.nextMonitorId`, 0, MONITOR_IDS);
  const rawCounters = readObject(o.counters, `${at}.counters`, COUNTERS);
  const counters = Object.fromEntries(
    COUNTERS.map((k) => [k, readCount(rawCounters[k], `${at}.counters.${k}`)]),
  ) as unknown as VmbusServerCounters;

  // Channels first without their open state: the GPADLs name them, and open state names GPADLs.
  const saved = readChannels(ctx, o.channels, `${at}.channels`, nextRelid, nextMonitorId);
  const { channels } = saved;

  const gpadls = readList(o.gpadls, `${at}.gpadls`).map((raw, i) =>
    readGpadl(ctx, raw, `${at}.gpadls[${i}]`, channels),
  );
  gpadls.forEach((g, i) => {
    if (gpadls.findIndex((h) => h.id === g.id) !== i)
      throw fieldError(`${at}.gpadls[${i}].id`, g.id, 'an id no other GPADL has');
  });

  readOpenChannels(ctx, saved, `${at}.channels`, gpadls);

  const events = readPorts(ctx, data.ports, `${where}.ports`, channels);
  const applyDevices = prepareDevices(server, data.devices, `${where}.devices`);

  return () => {
    applyDevices();
    server.restoreState({ connection, channels, gpadls, nextRelid, nextMonitorId, counters }, events);
    for (const ch of channels) if (ch.open !== null) ch.device.restored?.(ch.open.host);
  };
}

function readConnection(
  ctx: ServerContext,
  raw: SnapshotData | undefined,
  where: string,
): VmbusConnection | null {
  if (raw === null) return null;
  const c = readObject(raw, where, FIELDS.connection);
  const version = c.version;
  if (typeof version !== 'number' || !ctx.server.versions.includes(version)) {
    throw fieldError(
      `${where}.version`,
      version,
      `a version this VM's server offers (${ctx.server.versions.map(vmbusVersionName).join(', ')})`,
    );
  }
  const targetVcpu = readInt(c.targetVp, `${where}.targetVp`, 0, ctx.vpCount - 1);
  const messageSint = readInt(c.messageSint, `${where}.messageSint`, 0, HV_SYNIC_SINT_COUNT - 1);
  const expectedConnectionId = initiateContactConnectionId(version);
  if (c.messageConnectionId !== expectedConnectionId)
    throw fieldError(
      `${where}.messageConnectionId`,
      c.messageConnectionId,
      `${expectedConnectionId} for ${vmbusVersionName(version)}`,
    );
  if (version < VmbusVersion.WIN10_V5 && messageSint !== 2)
    throw fieldError(
      `${where}.messageSint`,
      messageSint,
      `2 before ${vmbusVersionName(VmbusVersion.WIN10_V5)}`,
    );
  const pages = readObject(c.monitorPages, `${where}.monitorPages`, FIELDS.monitorPages);
  const page = (k: 'parentToChild' | 'childToParent') => {
    const gpa = readSnapshotU64(pages[k], `${where}.monitorPages.${k}`);
    if (!ctx.server.access.reachesPage(gpa))
      throw fieldError(
        `${where}.monitorPages.${k}`,
        pages[k],
        'a RAM page (its shared alias in an isolation VM)',
      );
    return gpa;
  };
  return { version, targetVcpu, messageSint, monitorPages: [page('parentToChild'), page('childToParent')] };
}
