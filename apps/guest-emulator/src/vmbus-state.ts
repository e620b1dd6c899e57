import type { GuestMemory } from '@pvlab/hypercall';
import type { GuestChannel, GuestOffer, VmbusConnectionState } from '@pvlab/vmbus-ring/guest';
import { VMBUS_STATE_GPA } from './layout.js';

/**
 * The VMBus driver's state in guest memory, as Linux keeps `vmbus_connection` and its channels in
 * kernel memory: a guest restored from a snapshot reads it back and takes over the connection
 * (and the channel, when it is open) instead of contacting the host again.
 *
 * Layout (u32 little-endian unless noted): magic, version, msg_conn_id, next GPADL id, next open
 * id, channel open (0/1), relid, connection id, monitor id, offer flags (bit 0 monitor
 * allocated, bit 1 dedicated interrupt), GPADL id; at 0x30 the interface type, at 0x40 the
 * instance (16 bytes each).
 */
const MAGIC = 0x5342_4d56; // 'VMBS'
const Field = {
  magic: 0x00,
  version: 0x04,
  msgConnId: 0x08,
  nextGpadl: 0x0c,
  nextOpenId: 0x10,
  open: 0x14,
  relid: 0x18,
  connectionId: 0x1c,
  monitorId: 0x20,
  flags: 0x24,
  gpadl: 0x28,
  interfaceType: 0x30,
  interfaceInstance: 0x40,
} as const;
/** Bytes of the record. */
export const VMBUS_STATE_BYTES = 0x50;

/** What a restored guest finds of its VMBus driver. */
export interface SavedVmbusState {
  readonly connection: VmbusConnectionState;
  /** The channel the workload left open (its rings are the workload's ring pages). */
  readonly channel: { readonly offer: GuestOffer; readonly gpadl: number } | null;
}

/** Records the connection and the open channel (or that none is open). */
export function writeVmbusState(
  memory: GuestMemory,
  connection: VmbusConnectionState,
  channel: GuestChannel | null,
): void {
  const v = memory.view;
  const at = Number(VMBUS_STATE_GPA);
  memory.fill(VMBUS_STATE_GPA, VMBUS_STATE_BYTES, 0);
  v.setUint32(at + Field.version, connection.version, true);
  v.setUint32(at + Field.msgConnId, connection.msgConnId, true);
  v.setUint32(at + Field.nextGpadl, connection.nextGpadl, true);
  v.setUint32(at + Field.nextOpenId, connection.nextOpenId, true);
  if (channel !== null) {
    const o = channel.offer;
    v.setUint32(at + Field.open, 1, true);
    v.setUint32(at + Field.relid, o.relid, true);
    v.setUint32(at + Field.connectionId, o.connectionId, true);
    v.setUint32(at + Field.monitorId, o.monitorId, true);
    v.setUint32(at + Field.flags, (o.monitorAllocated ? 1 : 0) | (o.dedicatedInterrupt ? 2 : 0), true);
    v.setUint32(at + Field.gpadl, channel.gpadl, true);
    memory.write(VMBUS_STATE_GPA + BigInt(Field.interfaceType), o.interfaceType);
    memory.write(VMBUS_STATE_GPA + BigInt(Field.interfaceInstance), o.interfaceInstance);
  }
  // The magic last: a record is whole once it is there.
  v.setUint32(at + Field.magic, MAGIC, true);
}

/** The recorded state, or `null` when the driver never connected. */
export function readVmbusState(memory: GuestMemory): SavedVmbusState | null {
  const v = memory.view;
  const at = Number(VMBUS_STATE_GPA);
  if (v.getUint32(at + Field.magic, true) !== MAGIC) return null;
  const u32 = (offset: number) => v.getUint32(at + offset, true);
  const connection: VmbusConnectionState = {
    version: u32(Field.version),
    msgConnId: u32(Field.msgConnId),
    nextGpadl: u32(Field.nextGpadl),
    nextOpenId: u32(Field.nextOpenId),
  };
  if (u32(Field.open) !== 1) return { connection, channel: null };
  const flags = u32(Field.flags);
  const offer: GuestOffer = {
    relid: u32(Field.relid),
    interfaceType: memory.read(VMBUS_STATE_GPA + BigInt(Field.interfaceType), 16),
    interfaceInstance: memory.read(VMBUS_STATE_GPA + BigInt(Field.interfaceInstance), 16),
    connectionId: u32(Field.connectionId),
    monitorId: u32(Field.monitorId),
    monitorAllocated: (flags & 1) !== 0,
    dedicatedInterrupt: (flags & 2) !== 0,
  };
  return { connection, channel: { offer, gpadl: u32(Field.gpadl) } };
}
