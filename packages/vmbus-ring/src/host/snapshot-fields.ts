/**
 * Field readers for the `vmbus-ring` snapshot part: each checks one JSON value and throws a
 * SnapshotError naming the field, the value and what is accepted.
 */
import {
  snapshotFieldError as fieldError,
  readSnapshotInt as readInt,
  readSnapshotObject,
  type SnapshotData,
  SnapshotError,
  showSnapshotText,
} from '@pvlab/hypercall/host';

export type Fields = { readonly [key: string]: SnapshotData };

/** The shared field readers, under the names this part's code uses. */
export {
  readSnapshotBase64 as readBase64,
  readSnapshotBoolean as readBoolean,
  readSnapshotCount as readCount,
  readSnapshotInt as readInt,
  snapshotFieldError as fieldError,
} from '@pvlab/hypercall/host';

/** A u32. */
export function readU32(value: SnapshotData | undefined, where: string): number {
  return readInt(value, where, 0, 0xffff_ffff);
}

export function readList(value: SnapshotData | undefined, where: string): readonly SnapshotData[] {
  if (!Array.isArray(value)) throw fieldError(where, value, 'a list');
  return value as readonly SnapshotData[];
}

export { readSnapshotObject as readObject };

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The keys of an object keyed by decimal numbers, each checked to be `0..max`. */
export function numberedEntries(
  o: Fields,
  where: string,
  max: number,
  what: string,
): [number, SnapshotData][] {
  return Object.entries(o).map(([key, v]) => {
    const n = Number(key);
    if (!/^(0|[1-9]\d*)$/.test(key) || n > max)
      throw new SnapshotError(`${where}["${showSnapshotText(key)}"]: not ${what} (0..${max})`);
    return [n, v];
  });
}

/** The fields each object of the part has: any other key is refused by name. */
export const FIELDS = {
  part: ['synic', 'ports', 'server', 'devices'],
  synic: ['counters', 'vps'],
  synicCounters: ['messagesDelivered', 'eventsSignalled', 'interruptsAsserted'],
  synicVp: ['scontrol', 'simp', 'siefp', 'sints', 'queues'],
  message: ['messageType', 'sender', 'payload'],
  server: ['connection', 'nextRelid', 'nextMonitorId', 'counters', 'channels', 'gpadls'],
  serverCounters: ['messagesIn', 'messagesOut', 'ignored', 'refusedBusy', 'signals'],
  connection: ['version', 'targetVp', 'messageSint', 'messageConnectionId', 'monitorPages'],
  monitorPages: ['parentToChild', 'childToParent'],
  channel: ['relid', 'device', 'connectionId', 'monitorId', 'state', 'open'],
  deviceRef: ['index', 'instance', 'name'],
  open: [
    'openId',
    'gpadl',
    'targetVp',
    'downstreamRingPageOffset',
    'userData',
    'guestToHostReadIndex',
    'hostToGuestWriteIndex',
    'hostToGuestPendingSendSize',
  ],
  gpadl: ['id', 'relid', 'rangeCount', 'rangeBufLen', 'received', 'ranges'],
  range: ['byteCount', 'byteOffset', 'pfns'],
  ports: ['messageConnectionIds', 'eventConnections'],
  eventConnection: ['connectionId', 'flagCount', 'deleted'],
  device: ['name', 'instance', 'state'],
} as const satisfies Record<string, readonly string[]>;

/**
 * The largest `nextRelid` a snapshot carries: 2^31, so the host can still add 2^31 devices
 * (channel connection ids are 0x10 + relid, a u32) and save a snapshot it reads back.
 */
export const MAX_NEXT_RELID = 2 ** 31;
