/**
 * The VMBus server's share of the `vmbus-ring` snapshot part: the connection, every channel
 * (its device by index and instance GUID; when open, what rebuilds its two rings over guest
 * memory and the host's own ring indices), every GPADL, the counters, the SynIC ports'
 * connection table and each device's own state.
 */
import { GuestPage, HV_PAGE_SIZE } from '@pvlab/hypercall';
import {
  readSnapshotU64,
  type SnapshotData,
  SnapshotError,
  showSnapshotText,
  showSnapshotValue,
  snapshotCounts,
  snapshotU64,
} from '@pvlab/hypercall/host';
import { type RingMemory, splitChannelGpadl } from '../ring/ring-memory.js';
import { RingReader } from '../ring/ring-reader.js';
import { RingWriter } from '../ring/ring-writer.js';
import { OpenChannel } from '../wire/channel-messages.js';
import { guidString } from '../wire/guid.js';
import { MONITOR_IDS } from '../wire/monitor-page.js';
import { HV_SYNIC_SINT_COUNT } from '../wire/synic.js';
import { initiateContactConnectionId, VmbusVersion, vmbusVersionName } from '../wire/versions.js';
import type { VmbusDevice } from './device.js';
import {
  type ChannelState,
  ServerChannel,
  type ServerGpadl,
  type VmbusConnection,
  type VmbusServerCounters,
} from './server-state.js';
import {
  base64,
  FIELDS,
  fieldError,
  MAX_NEXT_RELID,
  readBase64,
  readBoolean,
  readCount,
  readInt,
  readList,
  readObject,
  readU32,
} from './snapshot-fields.js';
import { readPorts } from './snapshot-ports.js';
import type { SynicPorts } from './synic-hypercalls.js';
import type { VmbusServer } from './vmbus-server.js';

const COUNTERS: readonly (keyof VmbusServerCounters)[] = [
  'messagesIn',
  'messagesOut',
  'ignored',
  'refusedBusy',
  'signals',
];
const STATES: readonly ChannelState[] = ['offered', 'open', 'rescinded'];
/** OPENCHANNEL's userdata: from its offset to the end of the message. */
const USER_DATA_BYTES = OpenChannel.size - OpenChannel.offsetOf('userData');

function deviceLabel(index: number, d: VmbusDevice): string {
  return `#${index} '${d.name}' (instance ${guidString(d.interfaceInstance)})`;
}

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
    channels: s.channels.map((ch) => {
      const index = server.devices.indexOf(ch.device);
      const o = ch.open;
      return {
        relid: ch.relid,
        device: { index, instance: guidString(ch.device.interfaceInstance), name: ch.device.name },
        connectionId: ch.connectionId,
        monitorId: ch.monitorId,
        state: ch.state,
        open:
          o === null
            ? null
            : {
                openId: o.openId,
                gpadl: o.gpadl,
                targetVp: o.host.targetVp,
                downstreamRingPageOffset: o.downstreamRingPageOffset,
                userData: base64(o.host.userData),
                guestToHostReadIndex: o.host.reader.readIndex,
                hostToGuestWriteIndex: o.host.writer.writeIndex,
                hostToGuestPendingSendSize: o.host.writer.pendingSendSizeSet,
              },
      };
    }),
    gpadls: s.gpadls.map((g) => ({
      id: g.id,
      relid: g.relid,
      rangeCount: g.rangeCount,
      rangeBufLen: g.buffer.length,
      received: g.ranges === null ? base64(g.buffer.subarray(0, g.received)) : null,
      ranges:
        g.ranges === null
          ? null
          : g.ranges.map((r) => ({
              byteCount: r.byteCount,
              byteOffset: r.byteOffset,
              pfns: r.pfns.map(snapshotU64),
            })),
    })),
  };
}

export function saveDevices(server: VmbusServer): SnapshotData {
  return server.devices.map((d) => ({
    name: d.name,
    instance: guidString(d.interfaceInstance),
    state: d.saveState?.() ?? null,
  }));
}

/** What the server part checks against. */
export interface ServerContext {
  readonly server: VmbusServer;
  readonly ports: SynicPorts;
  readonly vpCount: number;
  readonly ramContains: (gpa: bigint) => boolean;
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
  const channels: ServerChannel[] = [];
  const rawOpen = new Map<ServerChannel, SnapshotData>();
  const devicesUsed = new Set<VmbusDevice>();
  const connectionIds = new Set<number>();
  const monitorIds = new Set<number>();
  readList(o.channels, `${at}.channels`).forEach((raw, i) => {
    const w = `${at}.channels[${i}]`;
    const c = readObject(raw, w, FIELDS.channel);
    const relid = readInt(c.relid, `${w}.relid`, 1, nextRelid - 1);
    if (channels.some((ch) => ch.relid === relid))
      throw fieldError(`${w}.relid`, relid, 'a relid no other channel has');
    const device = readDeviceRef(server, c.device ?? null, `${w}.device`);
    if (devicesUsed.has(device))
      throw new SnapshotError(
        `${w}.device: device ${deviceLabel(server.devices.indexOf(device), device)} is named by two channels`,
      );
    devicesUsed.add(device);
    const connectionId = readU32(c.connectionId, `${w}.connectionId`);
    if (connectionIds.has(connectionId))
      throw fieldError(`${w}.connectionId`, connectionId, 'a connection id no other channel has');
    connectionIds.add(connectionId);
    let monitorId: number | null = null;
    if (c.monitorId !== null) {
      monitorId = readInt(c.monitorId, `${w}.monitorId`, 0, nextMonitorId - 1);
      if (monitorIds.has(monitorId))
        throw fieldError(`${w}.monitorId`, monitorId, 'null or an unused monitor id');
      monitorIds.add(monitorId);
    }
    if (!STATES.includes(c.state as ChannelState))
      throw fieldError(`${w}.state`, c.state, `one of ${STATES.join(', ')}`);
    const ch = new ServerChannel(relid, device, connectionId, monitorId);
    ch.state = c.state as ChannelState;
    const open = c.open ?? null;
    if ((ch.state === 'open') !== (open !== null))
      throw fieldError(
        `${w}.open`,
        open,
        ch.state === 'open' ? 'the open channel’s rings' : 'null (the channel is not open)',
      );
    if (open !== null) rawOpen.set(ch, open);
    channels.push(ch);
  });

  const gpadls = readList(o.gpadls, `${at}.gpadls`).map((raw, i) =>
    readGpadl(ctx, raw, `${at}.gpadls[${i}]`, channels),
  );
  gpadls.forEach((g, i) => {
    if (gpadls.findIndex((h) => h.id === g.id) !== i)
      throw fieldError(`${at}.gpadls[${i}].id`, g.id, 'an id no other GPADL has');
  });

  channels.forEach((ch, i) => {
    const raw = rawOpen.get(ch);
    if (raw !== undefined) readOpen(ctx, ch, raw, `${at}.channels[${i}].open`, gpadls);
  });

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

/** A device named by its index in the server's order, checked by its instance GUID. */
function readDeviceRef(server: VmbusServer, raw: SnapshotData | undefined, where: string): VmbusDevice {
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

function readGpadl(
  ctx: ServerContext,
  raw: SnapshotData,
  where: string,
  channels: readonly ServerChannel[],
): ServerGpadl {
  const g = readObject(raw, where, FIELDS.gpadl);
  const id = readInt(g.id, `${where}.id`, 1, 0xffff_ffff);
  const relid = readU32(g.relid, `${where}.relid`);
  if (!channels.some((ch) => ch.relid === relid))
    throw fieldError(`${where}.relid`, relid, 'the relid of a saved channel');
  const rangeCount = readInt(g.rangeCount, `${where}.rangeCount`, 1, 0xffff);
  const rangeBufLen = readInt(g.rangeBufLen, `${where}.rangeBufLen`, 16 * rangeCount, 0xffff);
  if (rangeBufLen % 8 !== 0) throw fieldError(`${where}.rangeBufLen`, rangeBufLen, 'a multiple of 8');
  const buffer = new Uint8Array(rangeBufLen);
  if (g.ranges === null) {
    // Being assembled: the range bytes that arrived so far.
    const received = readBase64(g.received, `${where}.received`, rangeBufLen - 8);
    if (received.length % 8 !== 0) throw fieldError(`${where}.received`, g.received, 'a multiple of 8 bytes');
    buffer.set(received);
    return { id, relid, rangeCount, buffer, received: received.length, ranges: null };
  }
  if (g.received !== null) throw fieldError(`${where}.received`, g.received, 'null (the GPADL is created)');
  const rawRanges = readList(g.ranges, `${where}.ranges`);
  if (rawRanges.length !== rangeCount)
    throw fieldError(`${where}.ranges`, g.ranges, `${rangeCount} ranges (rangeCount)`);
  let bytes = 0;
  const ranges = rawRanges.map((rawRange, r) => {
    const w = `${where}.ranges[${r}]`;
    const range = readObject(rawRange, w, FIELDS.range);
    const byteCount = readInt(range.byteCount, `${w}.byteCount`, 1, 0xffff_ffff);
    const byteOffset = readInt(range.byteOffset, `${w}.byteOffset`, 0, HV_PAGE_SIZE - 1);
    const pages = Math.ceil((byteOffset + byteCount) / HV_PAGE_SIZE);
    const list = readList(range.pfns, `${w}.pfns`);
    if (list.length !== pages) throw fieldError(`${w}.pfns`, range.pfns, `${pages} PFNs for its byte range`);
    bytes += 8 + 8 * pages;
    if (bytes > rangeBufLen) throw fieldError(`${where}.rangeBufLen`, rangeBufLen, 'room for every range');
    const pfns = list.map((p, i) => {
      const pfn = readSnapshotU64(p, `${w}.pfns[${i}]`);
      if (pfn > 0xf_ffff_ffff_ffffn || !ctx.ramContains(GuestPage.address(pfn)))
        throw fieldError(`${w}.pfns[${i}]`, p, 'a PFN inside RAM');
      return pfn;
    });
    return { byteCount, byteOffset, pfns };
  });
  if (bytes !== rangeBufLen)
    throw fieldError(`${where}.rangeBufLen`, rangeBufLen, `${bytes} (what the ranges take)`);
  return { id, relid, rangeCount, buffer, received: rangeBufLen, ranges };
}

/** An open channel's rings rebuilt over guest memory, with the host's own ring indices. */
function readOpen(
  ctx: ServerContext,
  ch: ServerChannel,
  raw: SnapshotData,
  where: string,
  gpadls: readonly ServerGpadl[],
): void {
  const o = readObject(raw, where, FIELDS.open);
  const openId = readU32(o.openId, `${where}.openId`);
  const gpadlId = readU32(o.gpadl, `${where}.gpadl`);
  const g = gpadls.find((x) => x.id === gpadlId);
  const range = g?.ranges?.[0];
  if (
    g === undefined ||
    g.relid !== ch.relid ||
    g.ranges?.length !== 1 ||
    range === undefined ||
    range.byteOffset !== 0 ||
    range.byteCount !== range.pfns.length * HV_PAGE_SIZE
  ) {
    throw fieldError(`${where}.gpadl`, o.gpadl, 'a created GPADL of this channel: one range of whole pages');
  }
  const targetVp = readInt(o.targetVp, `${where}.targetVp`, 0, ctx.vpCount - 1);
  const offset = readInt(o.downstreamRingPageOffset, `${where}.downstreamRingPageOffset`, 2, 0xffff_ffff);
  const split = splitChannelGpadl(range.pfns, offset);
  if (!split.ok)
    throw fieldError(
      `${where}.downstreamRingPageOffset`,
      offset,
      `a split of the ring GPADL (${split.reason})`,
    );
  const userData = readBase64(o.userData, `${where}.userData`, USER_DATA_BYTES);
  if (userData.length !== USER_DATA_BYTES)
    throw fieldError(`${where}.userData`, o.userData, `${USER_DATA_BYTES} bytes`);
  const readIndex = readU32(o.guestToHostReadIndex, `${where}.guestToHostReadIndex`);
  const writeIndex = readU32(o.hostToGuestWriteIndex, `${where}.hostToGuestWriteIndex`);
  const pendingSendSizeSet = readBoolean(o.hostToGuestPendingSendSize, `${where}.hostToGuestPendingSendSize`);
  let outbound: RingMemory;
  let inbound: RingMemory;
  try {
    ({ outbound, inbound } = ctx.server.channelRings(ch.relid, split, targetVp));
  } catch (error) {
    throw new SnapshotError(`${where}: the rings cannot be rebuilt: ${(error as Error).message}`);
  }
  // Indices out of range are kept: the ring reports them as corrupt, as it did before the save.
  const host = ctx.server.hostChannel(ch, {
    openId,
    targetVp,
    userData,
    reader: new RingReader(outbound, { readIndex }),
    writer: new RingWriter(inbound, { writeIndex, pendingSendSizeSet }),
  });
  ch.open = { openId, gpadl: g.id, downstreamRingPageOffset: offset, host };
}

function prepareDevices(server: VmbusServer, raw: SnapshotData | undefined, where: string): () => void {
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
