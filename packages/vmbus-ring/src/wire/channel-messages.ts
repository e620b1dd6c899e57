/**
 * VMBus channel messages — spec 04 "Channel messages" (Linux include/linux/hyperv.h
 * `struct vmbus_channel_*`; openvmm vmbus_core protocol.rs). Every message starts with an 8-byte
 * header (u32 msgtype, u32 padding) and fits one SynIC message payload (≤ 240 bytes).
 */
import { type ByteStructValues, defineByteStruct } from '@pvlab/hypercall';
import { HV_MESSAGE_PAYLOAD_BYTES } from './synic.js';

/** Channel message types (an open enum: `channelMessageTypeName` names unknown values). */
export const ChannelMessageType = {
  INVALID: 0,
  OFFERCHANNEL: 1,
  RESCIND_CHANNELOFFER: 2,
  REQUESTOFFERS: 3,
  ALLOFFERS_DELIVERED: 4,
  OPENCHANNEL: 5,
  OPENCHANNEL_RESULT: 6,
  CLOSECHANNEL: 7,
  GPADL_HEADER: 8,
  GPADL_BODY: 9,
  GPADL_CREATED: 10,
  GPADL_TEARDOWN: 11,
  GPADL_TORNDOWN: 12,
  RELID_RELEASED: 13,
  INITIATE_CONTACT: 14,
  VERSION_RESPONSE: 15,
  UNLOAD: 16,
  UNLOAD_RESPONSE: 17,
  OPEN_RESERVED_CHANNEL: 18,
  CLOSE_RESERVED_CHANNEL: 19,
  CLOSE_RESERVED_RESPONSE: 20,
  TL_CONNECT_REQUEST: 21,
  MODIFYCHANNEL: 22,
  TL_CONNECT_RESULT: 23,
  MODIFYCHANNEL_RESPONSE: 24,
  MODIFY_CONNECTION: 25,
  MODIFY_CONNECTION_RESPONSE: 26,
  PAUSE: 27,
  PAUSE_RESPONSE: 28,
  RESUME: 29,
} as const;

const typeNames = new Map<number, string>(
  Object.entries(ChannelMessageType).map(([k, v]) => [v, `CHANNELMSG_${k}`]),
);

/** `CHANNELMSG_OPENCHANNEL`, or `unknown channel message 0x…`. */
export function channelMessageTypeName(type: number): string {
  return typeNames.get(type) ?? `unknown channel message 0x${type.toString(16)}`;
}

/** Bytes of the channel message header. */
export const CHANNEL_MESSAGE_HEADER_BYTES = 8;
/** The largest channel message: one SynIC payload. */
export const CHANNEL_MESSAGE_MAX_BYTES = HV_MESSAGE_PAYLOAD_BYTES;

/** The msgtype of a channel message, or `null` when shorter than its header. */
export function channelMessageType(bytes: Uint8Array): number | null {
  if (bytes.length < CHANNEL_MESSAGE_HEADER_BYTES) return null;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
}

const header = [{ name: 'msgtype', offset: 0, type: 'u32' }] as const;

/** A message with only the header (REQUESTOFFERS, ALLOFFERS_DELIVERED, UNLOAD, UNLOAD_RESPONSE). */
export const ChannelMessageHeader = defineByteStruct('vmbus_channel_message_header', [
  ...header,
  { name: 'padding', offset: 4, type: 'u32' },
] as const);

/** OFFERCHANNEL (struct vmbus_channel_offer_channel, 196 bytes). */
export const OfferChannel = defineByteStruct('vmbus_channel_offer_channel', [
  ...header,
  { name: 'interfaceType', offset: 8, type: 'guid' },
  { name: 'interfaceInstance', offset: 24, type: 'guid' },
  { name: 'reserved1', offset: 40, type: 'u64' },
  { name: 'reserved2', offset: 48, type: 'u64' },
  { name: 'channelFlags', offset: 56, type: 'u16' },
  { name: 'mmioMegabytes', offset: 58, type: 'u16' },
  { name: 'userDefined', offset: 60, type: { bytes: 120 } },
  { name: 'subChannelIndex', offset: 180, type: 'u16' },
  { name: 'reserved3', offset: 182, type: 'u16' },
  { name: 'childRelid', offset: 184, type: 'u32' },
  { name: 'monitorId', offset: 188, type: 'u8' },
  /** bit 0: monitor_allocated. */
  { name: 'monitorFlags', offset: 189, type: 'u8' },
  /** bit 0: is_dedicated_interrupt. */
  { name: 'interruptFlags', offset: 190, type: 'u16' },
  { name: 'connectionId', offset: 192, type: 'u32' },
] as const);

/** RESCIND_CHANNELOFFER, CLOSECHANNEL and RELID_RELEASED: the header and a child_relid. */
export const ChannelRelidMessage = defineByteStruct('vmbus_channel_relid_message', [
  ...header,
  { name: 'childRelid', offset: 8, type: 'u32' },
] as const);

/** OPENCHANNEL (struct vmbus_channel_open_channel, 148 bytes; newer hosts accept more, ignored here). */
export const OpenChannel = defineByteStruct('vmbus_channel_open_channel', [
  ...header,
  { name: 'childRelid', offset: 8, type: 'u32' },
  { name: 'openId', offset: 12, type: 'u32' },
  { name: 'ringBufferGpadl', offset: 16, type: 'u32' },
  { name: 'targetVp', offset: 20, type: 'u32' },
  { name: 'downstreamRingPageOffset', offset: 24, type: 'u32' },
  { name: 'userData', offset: 28, type: { bytes: 120 } },
] as const);

/** OPENCHANNEL_RESULT (20 bytes). */
export const OpenChannelResult = defineByteStruct('vmbus_channel_open_result', [
  ...header,
  { name: 'childRelid', offset: 8, type: 'u32' },
  { name: 'openId', offset: 12, type: 'u32' },
  { name: 'status', offset: 16, type: 'u32' },
] as const);

/** GPADL_HEADER's fixed part (20 bytes); the gpa_range list follows. */
export const GpadlHeader = defineByteStruct('vmbus_channel_gpadl_header', [
  ...header,
  { name: 'childRelid', offset: 8, type: 'u32' },
  { name: 'gpadl', offset: 12, type: 'u32' },
  /** Bytes of all ranges: Σ (8 + 8 × pfn count). */
  { name: 'rangeBufLen', offset: 16, type: 'u16' },
  { name: 'rangeCount', offset: 18, type: 'u16' },
] as const);

/** A gpa_range's fixed part: byte_count, byte_offset; its u64 PFNs follow. */
export const GpaRangeHeader = defineByteStruct('gpa_range', [
  { name: 'byteCount', offset: 0, type: 'u32' },
  { name: 'byteOffset', offset: 4, type: 'u32' },
] as const);

/** GPADL_BODY's fixed part (16 bytes); u64 PFNs follow. */
export const GpadlBody = defineByteStruct('vmbus_channel_gpadl_body', [
  ...header,
  { name: 'msgNumber', offset: 8, type: 'u32' },
  { name: 'gpadl', offset: 12, type: 'u32' },
] as const);

/** GPADL_CREATED (20 bytes): creation_status 0 = success. */
export const GpadlCreated = defineByteStruct('vmbus_channel_gpadl_created', [
  ...header,
  { name: 'childRelid', offset: 8, type: 'u32' },
  { name: 'gpadl', offset: 12, type: 'u32' },
  { name: 'creationStatus', offset: 16, type: 'u32' },
] as const);

/** GPADL_TEARDOWN (16 bytes). */
export const GpadlTeardown = defineByteStruct('vmbus_channel_gpadl_teardown', [
  ...header,
  { name: 'childRelid', offset: 8, type: 'u32' },
  { name: 'gpadl', offset: 12, type: 'u32' },
] as const);

/** GPADL_TORNDOWN (12 bytes). */
export const GpadlTorndown = defineByteStruct('vmbus_channel_gpadl_torndown', [
  ...header,
  { name: 'gpadl', offset: 8, type: 'u32' },
] as const);

/**
 * INITIATE_CONTACT (40 bytes). Bytes 16–23 are a union: the interrupt page GPA below version 5.0,
 * from 5.0 on {u8 msg_sint, u8 msg_vtl, u16 reserved, u32 feature_flags}; both views are here
 * (`interruptPage` overlaps the others, so it is read with `initiateContactInterruptPage`).
 */
export const InitiateContact = defineByteStruct('vmbus_channel_initiate_contact', [
  ...header,
  { name: 'version', offset: 8, type: 'u32' },
  { name: 'targetVcpu', offset: 12, type: 'u32' },
  { name: 'msgSint', offset: 16, type: 'u8' },
  { name: 'msgVtl', offset: 17, type: 'u8' },
  { name: 'reserved', offset: 18, type: 'u16' },
  { name: 'featureFlags', offset: 20, type: 'u32' },
  { name: 'monitorPage1', offset: 24, type: 'u64' },
  { name: 'monitorPage2', offset: 32, type: 'u64' },
] as const);

/** The pre-5.0 view of INITIATE_CONTACT bytes 16–23: the interrupt page GPA. */
export function initiateContactInterruptPage(bytes: Uint8Array): bigint | null {
  if (bytes.length < InitiateContact.size) return null;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(16, true);
}

/** VERSION_RESPONSE (16 bytes). */
export const VersionResponse = defineByteStruct('vmbus_channel_version_response', [
  ...header,
  { name: 'versionSupported', offset: 8, type: 'u8' },
  { name: 'connectionState', offset: 9, type: 'u8' },
  { name: 'padding', offset: 10, type: 'u16' },
  /** From 5.0: the connection id for the guest's further messages. */
  { name: 'msgConnId', offset: 12, type: 'u32' },
] as const);

/** VERSION_RESPONSE.connection_state (openvmm `ConnectionState`). */
export const VmbusConnectionState = {
  SUCCESSFUL: 0,
  FAILED_LOW_RESOURCES: 1,
  FAILED_UNKNOWN_FAILURE: 2,
} as const;

/** OPENCHANNEL_RESULT.status / GPADL_CREATED.creation_status of success. */
export const VMBUS_STATUS_SUCCESS = 0;
/** The failure status pvlab's host answers with (NTSTATUS STATUS_UNSUCCESSFUL, as Hyper-V). */
export const VMBUS_STATUS_UNSUCCESSFUL = 0xc000_0001;

/** OFFERCHANNEL monitorFlags bit 0. */
export const OFFER_MONITOR_ALLOCATED = 1;
/** OFFERCHANNEL interruptFlags bit 0. */
export const OFFER_DEDICATED_INTERRUPT = 1;

/** PFNs GPADL_HEADER carries after one range header: (240 − 20 − 8) / 8 = 26 (spec 04 rule 13). */
export const GPADL_HEADER_MAX_PFNS = Math.floor(
  (CHANNEL_MESSAGE_MAX_BYTES - GpadlHeader.size - GpaRangeHeader.size) / 8,
);
/** PFNs one GPADL_BODY carries: (240 − 16) / 8 = 28 (spec 04 rule 13). */
export const GPADL_BODY_MAX_PFNS = Math.floor((CHANNEL_MESSAGE_MAX_BYTES - GpadlBody.size) / 8);

/** Decoded OFFERCHANNEL. */
export type OfferChannelFields = ByteStructValues<typeof OfferChannel.fields>;
/** Decoded OPENCHANNEL. */
export type OpenChannelFields = ByteStructValues<typeof OpenChannel.fields>;
/** Decoded INITIATE_CONTACT. */
export type InitiateContactFields = ByteStructValues<typeof InitiateContact.fields>;

/**
 * The GPADL messages for one single-range GPADL of `pfns` (byte_offset 0, byte_count = pages ×
 * 4096), as Linux `create_gpadl_header` splits them: a GPADL_HEADER with up to 26 PFNs, then
 * GPADL_BODY messages of up to 28 each, numbered from 1.
 */
export function encodeGpadlMessages(
  childRelid: number,
  gpadl: number,
  pfns: readonly bigint[],
): Uint8Array[] {
  if (pfns.length === 0) throw new RangeError('a GPADL needs at least one PFN');
  const rangeBufLen = GpaRangeHeader.size + 8 * pfns.length;
  if (rangeBufLen > 0xffff) {
    throw new RangeError(`a GPADL of ${pfns.length} PFNs does not fit range_buflen (u16): use at most 8190`);
  }
  const first = Math.min(pfns.length, GPADL_HEADER_MAX_PFNS);
  const head = GpadlHeader.encode(
    { msgtype: ChannelMessageType.GPADL_HEADER, childRelid, gpadl, rangeBufLen, rangeCount: 1 },
    GpadlHeader.size + GpaRangeHeader.size + 8 * first,
  );
  const hv = new DataView(head.buffer);
  GpaRangeHeader.write(hv, GpadlHeader.size, { byteCount: pfns.length * 4096, byteOffset: 0 });
  for (let i = 0; i < first; i++) hv.setBigUint64(GpadlHeader.size + 8 + 8 * i, pfns[i]!, true);
  const out = [head];
  for (let at = first, n = 1; at < pfns.length; n++) {
    const count = Math.min(pfns.length - at, GPADL_BODY_MAX_PFNS);
    const body = GpadlBody.encode(
      { msgtype: ChannelMessageType.GPADL_BODY, msgNumber: n, gpadl },
      GpadlBody.size + 8 * count,
    );
    const bv = new DataView(body.buffer);
    for (let i = 0; i < count; i++) bv.setBigUint64(GpadlBody.size + 8 * i, pfns[at + i]!, true);
    out.push(body);
    at += count;
  }
  return out;
}
