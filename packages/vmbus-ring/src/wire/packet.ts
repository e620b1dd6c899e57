/**
 * VMBus packets on a ring — spec 04 "Packet descriptor" (`struct vmpacket_descriptor`), the
 * packet types and the u64 trailer.
 */
import { defineBitLayout } from '@pvlab/hypercall';

/** VM_PKT_* packet types (an open enum: unknown values stay numbers). */
export const VmPacketType = {
  INVALID: 0x0,
  SYNCH: 0x1,
  ADD_XFER_PAGESET: 0x2,
  RM_XFER_PAGESET: 0x3,
  ESTABLISH_GPADL: 0x4,
  TEARDOWN_GPADL: 0x5,
  DATA_INBAND: 0x6,
  DATA_USING_XFER_PAGES: 0x7,
  DATA_USING_GPADL: 0x8,
  DATA_USING_GPA_DIRECT: 0x9,
  CANCEL_REQUEST: 0xa,
  COMP: 0xb,
  DATA_USING_ADDITIONAL_PKT: 0xc,
  ADDITIONAL_DATA: 0xd,
} as const;
export type VmPacketTypeName = keyof typeof VmPacketType;

const TYPE_NAMES = new Map<number, VmPacketTypeName>(
  Object.entries(VmPacketType).map(([k, v]) => [v, k as VmPacketTypeName]),
);

/** `VM_PKT_DATA_INBAND`, or `unknown packet type 0x1234`. */
export function vmPacketTypeName(type: number): string {
  const name = TYPE_NAMES.get(type);
  return name === undefined ? `unknown packet type 0x${type.toString(16)}` : `VM_PKT_${name}`;
}

/** The types that travel on rings (spec 04: openvmm rejects the others as corrupt). */
export const RING_PACKET_TYPES: readonly number[] = [
  VmPacketType.DATA_INBAND,
  VmPacketType.DATA_USING_XFER_PAGES,
  VmPacketType.DATA_USING_GPA_DIRECT,
  VmPacketType.COMP,
];

/** flags bit 0, VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED. */
export const VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED = 1;

/**
 * The first 8 bytes of the descriptor read as one little-endian u64: type, offset8, len8 and the
 * flags, whose bits other than COMPLETION_REQUESTED are corrupt on a ring (spec 04 rule 11).
 */
export const VMPACKET_DESCRIPTOR_HEAD = defineBitLayout('vmpacket_descriptor', [
  { name: 'type', lsb: 0, width: 16 },
  { name: 'offset8', lsb: 16, width: 16 },
  { name: 'len8', lsb: 32, width: 16 },
  { name: 'completionRequested', lsb: 48, width: 1 },
  { name: 'flagsReserved', lsb: 49, width: 15, kind: 'reserved-zero' },
] as const);

/**
 * The u64 trailer after each packet: the packet's start offset (the write_index before it) in
 * the high half, zero in the low half. Readers ignore it (Linux and openvmm do not check it).
 */
export const VMPACKET_TRAILER = defineBitLayout('vmpacket_trailer', [
  { name: 'reserved', lsb: 0, width: 32, kind: 'reserved-ignore' },
  { name: 'startOffset', lsb: 32, width: 32 },
] as const);

/** Bytes of `struct vmpacket_descriptor`. */
export const VMPACKET_DESCRIPTOR_SIZE = 16;
/** Bytes of the trailer. */
export const VMPACKET_TRAILER_SIZE = 8;
/** Byte offsets of the descriptor's fields. */
export const VmPacketDescriptorOffset = { TYPE: 0, OFFSET8: 2, LEN8: 4, FLAGS: 6, TRANS_ID: 8 } as const;
/** The flags bits a ring packet may set. */
export const VMPACKET_FLAGS_ALLOWED = VMBUS_DATA_PACKET_FLAG_COMPLETION_REQUESTED;
/** The flags bits that make a packet corrupt, derived from the layout (bits 49..63 → flags bits 1..15). */
export const VMPACKET_FLAGS_RESERVED = Number(VMPACKET_DESCRIPTOR_HEAD.reservedZeroMask >> 48n);
/** offset8 of a packet with no extra header (descriptor only). */
export const VMPACKET_MIN_OFFSET8 = VMPACKET_DESCRIPTOR_SIZE / 8;
/** The largest len8 (u16): a packet is at most 0xFFFF × 8 bytes, trailer excluded. */
export const VMPACKET_MAX_LEN8 = 0xffff;
/** The fewest bytes a packet and its trailer take on a ring (a bare descriptor). */
export const VMPACKET_MIN_FOOTPRINT = VMPACKET_DESCRIPTOR_SIZE + VMPACKET_TRAILER_SIZE;

/** Byte offset of range_count in a VM_PKT_DATA_USING_XFER_PAGES packet (after u16 id, u16 rsvd). */
export const XFER_PAGES_RANGE_COUNT_OFFSET = 20;
/** Byte offset of range_count in a VM_PKT_DATA_USING_GPA_DIRECT packet (after u32 rsvd). */
export const GPA_DIRECT_RANGE_COUNT_OFFSET = 20;

/** A decoded packet descriptor. */
export interface VmPacketDescriptor {
  readonly type: number;
  /** Payload offset from the descriptor start, in 8-byte units (≥ 2). */
  readonly offset8: number;
  /** Packet length (descriptor, extra header, payload, padding; trailer excluded) in 8-byte units. */
  readonly len8: number;
  readonly flags: number;
  readonly transactionId: bigint;
}

/** Writes a 16-byte descriptor at `offset` of `view`. Throws RangeError when a field does not fit its u16/u64. */
export function encodeVmPacketDescriptor(view: DataView, offset: number, d: VmPacketDescriptor): void {
  for (const [name, value] of [
    ['type', d.type],
    ['offset8', d.offset8],
    ['len8', d.len8],
    ['flags', d.flags],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
      throw new RangeError(`vmpacket_descriptor.${name} = ${value} does not fit in a u16 (0..65535)`);
    }
  }
  view.setUint16(offset + VmPacketDescriptorOffset.TYPE, d.type, true);
  view.setUint16(offset + VmPacketDescriptorOffset.OFFSET8, d.offset8, true);
  view.setUint16(offset + VmPacketDescriptorOffset.LEN8, d.len8, true);
  view.setUint16(offset + VmPacketDescriptorOffset.FLAGS, d.flags, true);
  view.setBigUint64(offset + VmPacketDescriptorOffset.TRANS_ID, BigInt.asUintN(64, d.transactionId), true);
}

/** Reads the 16-byte descriptor at `offset` of `view`. */
export function decodeVmPacketDescriptor(view: DataView, offset: number): VmPacketDescriptor {
  return {
    type: view.getUint16(offset + VmPacketDescriptorOffset.TYPE, true),
    offset8: view.getUint16(offset + VmPacketDescriptorOffset.OFFSET8, true),
    len8: view.getUint16(offset + VmPacketDescriptorOffset.LEN8, true),
    flags: view.getUint16(offset + VmPacketDescriptorOffset.FLAGS, true),
    transactionId: view.getBigUint64(offset + VmPacketDescriptorOffset.TRANS_ID, true),
  };
}

/** The trailer value of a packet that starts at ring offset `startOffset`. */
export function vmPacketTrailer(startOffset: number): bigint {
  return VMPACKET_TRAILER.encode({ startOffset });
}

/** len8 of a packet with a `headerBytes` descriptor+extra header and `payloadBytes` after it. */
export function vmPacketLen8(headerBytes: number, payloadBytes: number): number {
  return (headerBytes + payloadBytes + 7) >>> 3;
}

/** Bytes a packet of `len8` takes on the ring, trailer included. */
export function vmPacketFootprint(len8: number): number {
  return len8 * 8 + VMPACKET_TRAILER_SIZE;
}
