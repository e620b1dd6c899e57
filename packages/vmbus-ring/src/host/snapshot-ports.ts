/**
 * The SynIC ports' share of the `vmbus-ring` snapshot part: the message connection ids (fixed
 * by this VM) and every event connection, each live one the port of an open channel.
 */
import { type SnapshotData, SnapshotError } from '@pvlab/hypercall/host';
import { HV_EVENT_FLAGS_COUNT } from '../wire/synic.js';
import type { ServerChannel } from './server-state.js';
import type { ServerContext } from './snapshot-context.js';
import {
  FIELDS,
  type Fields,
  fieldError,
  readBoolean,
  readInt,
  readList,
  readObject,
  readU32,
} from './snapshot-fields.js';
import type { EventConnection, SynicPorts } from './synic-hypercalls.js';

export function savePorts(ports: SynicPorts): SnapshotData {
  return {
    messageConnectionIds: ports.messageConnections(),
    eventConnections: ports.eventConnections().map((e) => ({ ...e })),
  };
}

export function readPorts(
  ctx: ServerContext,
  raw: SnapshotData | undefined,
  where: string,
  channels: readonly ServerChannel[],
): EventConnection[] {
  const o = readObject(raw, where, FIELDS.ports);
  const mine = ctx.ports.messageConnections();
  const ids = readList(o.messageConnectionIds, `${where}.messageConnectionIds`);
  if (ids.length !== mine.length || ids.some((v, i) => v !== mine[i]))
    throw fieldError(`${where}.messageConnectionIds`, ids, `[${mine.join(', ')}] (this VM's message ports)`);
  const events: EventConnection[] = readList(o.eventConnections, `${where}.eventConnections`).map((e, i) => {
    const w = `${where}.eventConnections[${i}]`;
    const f: Fields = readObject(e, w, FIELDS.eventConnection);
    return {
      connectionId: readU32(f.connectionId, `${w}.connectionId`),
      flagCount: readInt(f.flagCount, `${w}.flagCount`, 1, HV_EVENT_FLAGS_COUNT),
      deleted: readBoolean(f.deleted, `${w}.deleted`),
    };
  });
  events.forEach((e, i) => {
    const w = `${where}.eventConnections[${i}]`;
    if (events.findIndex((x) => x.connectionId === e.connectionId) !== i)
      throw fieldError(`${w}.connectionId`, e.connectionId, 'a connection id listed once');
    if (!e.deleted && !channels.some((ch) => ch.open !== null && ch.connectionId === e.connectionId))
      throw fieldError(`${w}.deleted`, e.deleted, 'true: only an open channel has a live event port');
  });
  for (const ch of channels) {
    if (ch.open !== null && !events.some((e) => !e.deleted && e.connectionId === ch.connectionId))
      throw new SnapshotError(
        `${where}.eventConnections: open channel ${ch.relid} has no live port on connection ${ch.connectionId}`,
      );
  }
  return events;
}
