/**
 * The ring control page — spec 04 "Control page" (Linux `struct hv_ring_buffer`): one 4 KiB page
 * ahead of the data pages. Every field is a little-endian u32; the ring accesses them as 32-bit
 * words with `Atomics`, so the constants below come in byte offsets and word indexes.
 */

/** Bytes of the control page; data starts right after it (spec 04 rule 1). */
export const RING_CONTROL_PAGE_SIZE = 4096;
/** The data area is whole 4 KiB pages (spec 04 rule 1). */
export const RING_DATA_PAGE_SIZE = 4096;

/** Byte offset of write_index ("in"), written by the ring's writer. */
export const RING_WRITE_INDEX_OFFSET = 0;
/** Byte offset of read_index ("out"), written by the ring's reader. */
export const RING_READ_INDEX_OFFSET = 4;
/** Byte offset of interrupt_mask (1 = the reader is draining: do not signal it), written by the reader. */
export const RING_INTERRUPT_MASK_OFFSET = 8;
/** Byte offset of pending_send_sz (bytes a blocked writer needs; 0 = none), written by the writer. */
export const RING_PENDING_SEND_SIZE_OFFSET = 12;
/** Byte offset of feature_bits, written by the sender side of the ring. */
export const RING_FEATURE_BITS_OFFSET = 64;

/** feature_bits bit 0, feat_pending_send_sz (spec 04 rule 9). */
export const RING_FEATURE_PENDING_SEND_SIZE = 1;

/** Word indexes of the control fields in a `Uint32Array` over the control page. */
export const RingControlWord = {
  WRITE_INDEX: RING_WRITE_INDEX_OFFSET / 4,
  READ_INDEX: RING_READ_INDEX_OFFSET / 4,
  INTERRUPT_MASK: RING_INTERRUPT_MASK_OFFSET / 4,
  PENDING_SEND_SIZE: RING_PENDING_SEND_SIZE_OFFSET / 4,
  FEATURE_BITS: RING_FEATURE_BITS_OFFSET / 4,
} as const;

/** The control page's fields, as the ring's two sides see them. */
export interface RingControl {
  readonly writeIndex: number;
  readonly readIndex: number;
  readonly interruptMask: number;
  readonly pendingSendSize: number;
  readonly featureBits: number;
}

/** Encodes a control page (reserved bytes zero), for tests and for setting a ring up from scratch. */
export function encodeRingControl(control: Partial<RingControl>): Uint8Array {
  const page = new Uint8Array(RING_CONTROL_PAGE_SIZE);
  const view = new DataView(page.buffer);
  view.setUint32(RING_WRITE_INDEX_OFFSET, control.writeIndex ?? 0, true);
  view.setUint32(RING_READ_INDEX_OFFSET, control.readIndex ?? 0, true);
  view.setUint32(RING_INTERRUPT_MASK_OFFSET, control.interruptMask ?? 0, true);
  view.setUint32(RING_PENDING_SEND_SIZE_OFFSET, control.pendingSendSize ?? 0, true);
  view.setUint32(RING_FEATURE_BITS_OFFSET, control.featureBits ?? 0, true);
  return page;
}

/** Decodes the fields of a control page. */
export function decodeRingControl(page: Uint8Array): RingControl {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  return {
    writeIndex: view.getUint32(RING_WRITE_INDEX_OFFSET, true),
    readIndex: view.getUint32(RING_READ_INDEX_OFFSET, true),
    interruptMask: view.getUint32(RING_INTERRUPT_MASK_OFFSET, true),
    pendingSendSize: view.getUint32(RING_PENDING_SEND_SIZE_OFFSET, true),
    featureBits: view.getUint32(RING_FEATURE_BITS_OFFSET, true),
  };
}
