/**
 * Packet validation — spec 04 rules 3 and 11 (openvmm `parse_packet`, mirroring Linux's
 * hardening). Every value checked here was written by the peer: the caller copies it once into a
 * local and passes the copy, so the peer cannot change it between the check and the use.
 */
import {
  VMPACKET_FLAGS_RESERVED,
  VMPACKET_MIN_OFFSET8,
  VmPacketType,
  vmPacketFootprint,
  vmPacketTypeName,
} from './packet.js';

/** What made a ring corrupt. */
export type RingCorruptKind =
  /** write_index or read_index ≥ the data size (rule 3). */
  | 'index-out-of-range'
  /** write_index or read_index not a multiple of 8 (rule 3). */
  | 'index-unaligned'
  /** Bytes to read is positive but less than the smallest packet (descriptor + trailer). */
  | 'truncated-descriptor'
  /** offset8 < 2: the payload would start inside the descriptor (rule 11). */
  | 'offset8-too-small'
  /** len8 < offset8: the payload would start after the packet (rule 11). */
  | 'len8-below-offset8'
  /** The packet and its trailer are longer than the bytes the writer published (rule 11). */
  | 'packet-exceeds-available'
  /** flags bits other than COMPLETION_REQUESTED (rule 11). */
  | 'reserved-flags'
  /** A type that does not travel on rings (rule 11). */
  | 'unknown-type'
  /** Types 7 and 9 need the 8-byte extra header: offset8 ≥ 3 (rule 11). */
  | 'missing-extra-header'
  /** VM_PKT_DATA_USING_GPA_DIRECT with range_count 0 (rule 11). */
  | 'no-gpa-ranges'
  /** GPA_DIRECT: a range header or its PFNs lie past the extra header (offset8 × 8). */
  | 'gpa-ranges-overrun'
  /** GPA_DIRECT: a range with len 0 or an offset ≥ 4096 in its first page. */
  | 'gpa-range-invalid'
  /** GPA_DIRECT: more pages than the reader accepts (or more bytes than its answer can carry). */
  | 'gpa-too-many-pages'
  /**
   * The ring's pages may no longer be reached (an isolation VM's page made private, spec 05 rule
   * 10), or a GPA-direct range names a page the host may not read.
   */
  | 'access-refused';

/** Every `RingCorruptKind`, for readers of saved state. */
export const RING_CORRUPT_KINDS = [
  'index-out-of-range',
  'index-unaligned',
  'truncated-descriptor',
  'offset8-too-small',
  'len8-below-offset8',
  'packet-exceeds-available',
  'reserved-flags',
  'unknown-type',
  'missing-extra-header',
  'no-gpa-ranges',
  'gpa-ranges-overrun',
  'gpa-range-invalid',
  'gpa-too-many-pages',
  'access-refused',
] as const satisfies readonly RingCorruptKind[];

/** A corrupt ring: what was wrong, and the peer-written values that showed it. */
export class RingCorruptError extends Error {
  override readonly name = 'RingCorruptError';
  readonly kind: RingCorruptKind;
  /** The message without its `corrupt VMBus ring (kind):` prefix. */
  readonly detail: string;

  constructor(kind: RingCorruptKind, message: string) {
    super(`corrupt VMBus ring (${kind}): ${message}`);
    this.kind = kind;
    this.detail = message;
  }
}

/** Spec 04 rule 3 for one index: `null` when valid. */
export function checkRingIndex(name: string, index: number, size: number): RingCorruptError | null {
  if (index >= size) {
    return new RingCorruptError('index-out-of-range', `${name} ${index} ≥ ring data size ${size}`);
  }
  if ((index & 7) !== 0)
    return new RingCorruptError('index-unaligned', `${name} ${index} is not a multiple of 8`);
  return null;
}

/** The descriptor fields and extra-header value a packet is validated on (local copies). */
export interface PacketToValidate {
  readonly type: number;
  readonly offset8: number;
  readonly len8: number;
  readonly flags: number;
  /** range_count of types 7 and 9 (read only when offset8 ≥ 3), else ignored. */
  readonly rangeCount: number;
}

/**
 * Spec 04 rule 11. `available` is the bytes to read at the packet's start. The packet counts
 * with its trailer: a writer publishes both at once, so a packet whose trailer is not yet
 * available would move the read index past the write index. `null` when valid.
 */
export function validatePacket(p: PacketToValidate, available: number): RingCorruptError | null {
  if (p.offset8 < VMPACKET_MIN_OFFSET8) {
    return new RingCorruptError(
      'offset8-too-small',
      `${describePacket(p)}: offset8 < ${VMPACKET_MIN_OFFSET8}`,
    );
  }
  if (p.len8 < p.offset8)
    return new RingCorruptError('len8-below-offset8', `${describePacket(p)}: len8 < offset8`);
  if (vmPacketFootprint(p.len8) > available) {
    return new RingCorruptError(
      'packet-exceeds-available',
      `${describePacket(p)}: ${vmPacketFootprint(p.len8)} bytes with the trailer, ${available} available`,
    );
  }
  if ((p.flags & VMPACKET_FLAGS_RESERVED) !== 0) {
    return new RingCorruptError('reserved-flags', `${describePacket(p)}: flags 0x${p.flags.toString(16)}`);
  }
  if (!isRingPacketType(p.type)) {
    return new RingCorruptError(
      'unknown-type',
      `${describePacket(p)}: only types 6, 7, 9 and 0xB travel on rings`,
    );
  }
  const extraHeader =
    p.type === VmPacketType.DATA_USING_XFER_PAGES || p.type === VmPacketType.DATA_USING_GPA_DIRECT;
  if (extraHeader && p.offset8 < VMPACKET_MIN_OFFSET8 + 1) {
    return new RingCorruptError(
      'missing-extra-header',
      `${describePacket(p)}: the 8-byte extra header needs offset8 ≥ 3`,
    );
  }
  if (p.type === VmPacketType.DATA_USING_GPA_DIRECT && p.rangeCount === 0) {
    return new RingCorruptError('no-gpa-ranges', `${describePacket(p)}: range_count 0`);
  }
  return null;
}

function describePacket(p: PacketToValidate): string {
  return `${vmPacketTypeName(p.type)} offset8 ${p.offset8} len8 ${p.len8}`;
}

function isRingPacketType(type: number): boolean {
  return (
    type === VmPacketType.DATA_INBAND ||
    type === VmPacketType.COMP ||
    type === VmPacketType.DATA_USING_XFER_PAGES ||
    type === VmPacketType.DATA_USING_GPA_DIRECT
  );
}
