/**
 * The channels in the `vmbus-ring` snapshot part: relid, device, connection and monitor ids and
 * state; an open channel also what rebuilds its two rings over guest memory (its ring GPADL and
 * downstream offset, OPENCHANNEL's fields) and the host's own ring indices.
 */
import { HV_PAGE_SIZE } from '@pvlab/hypercall';
import { type SnapshotData, SnapshotError } from '@pvlab/hypercall/host';
import { type RingMemory, splitChannelGpadl } from '../ring/ring-memory.js';
import { RingReader } from '../ring/ring-reader.js';
import { RingWriter } from '../ring/ring-writer.js';
import { OpenChannel } from '../wire/channel-messages.js';
import { guidString } from '../wire/guid.js';
import type { VmbusDevice } from './device.js';
import { type ChannelState, ServerChannel, type ServerGpadl } from './server-state.js';
import type { ServerContext } from './snapshot-context.js';
import { deviceLabel, readDeviceRef } from './snapshot-devices.js';
import {
  base64,
  FIELDS,
  fieldError,
  readBase64,
  readBoolean,
  readInt,
  readList,
  readObject,
  readU32,
} from './snapshot-fields.js';
import type { VmbusServer } from './vmbus-server.js';

const STATES: readonly ChannelState[] = ['offered', 'open', 'rescinded'];
/** OPENCHANNEL's userdata: from its offset to the end of the message. */
const USER_DATA_BYTES = OpenChannel.size - OpenChannel.offsetOf('userData');

/** A channel as saved (its device by index and instance GUID). */
export function saveChannel(server: VmbusServer, ch: ServerChannel): SnapshotData {
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
}

/** The saved channels without their open state (GPADLs name channels, open state names GPADLs). */
export interface SavedChannels {
  readonly channels: ServerChannel[];
  /** Each open channel's saved `open` object, read by `readOpenChannels` once the GPADLs are. */
  readonly rawOpen: Map<ServerChannel, SnapshotData>;
}

/** The saved channels checked against this VM's devices and the saved next relid and monitor id. */
export function readChannels(
  ctx: ServerContext,
  raw: SnapshotData | undefined,
  where: string,
  nextRelid: number,
  nextMonitorId: number,
): SavedChannels {
  const { server } = ctx;
  const channels: ServerChannel[] = [];
  const rawOpen = new Map<ServerChannel, SnapshotData>();
  const devicesUsed = new Set<VmbusDevice>();
  const connectionIds = new Set<number>();
  const monitorIds = new Set<number>();
  readList(raw, where).forEach((item, i) => {
    const w = `${where}[${i}]`;
    const c = readObject(item, w, FIELDS.channel);
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
  return { channels, rawOpen };
}

/** Rebuilds the rings of every open channel (`where` names the channel list). */
export function readOpenChannels(
  ctx: ServerContext,
  saved: SavedChannels,
  where: string,
  gpadls: readonly ServerGpadl[],
): void {
  saved.channels.forEach((ch, i) => {
    const raw = saved.rawOpen.get(ch);
    if (raw !== undefined) readOpen(ctx, ch, raw, `${where}[${i}].open`, gpadls);
  });
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
