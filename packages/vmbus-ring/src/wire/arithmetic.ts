/**
 * Ring index arithmetic — spec 04 "Arithmetic". `size` is the data area in bytes (a multiple of
 * 4096); indices are byte offsets into it.
 */

/** Packets, trailers and indices are 8-byte aligned. */
export const RING_ALIGNMENT = 8;

/** `n` rounded up to a multiple of 8. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Bytes the reader may consume: (w ≥ r) ? w − r : size − r + w. */
export function bytesToRead(writeIndex: number, readIndex: number, size: number): number {
  return writeIndex >= readIndex ? writeIndex - readIndex : size - readIndex + writeIndex;
}

/** Linux `hv_get_bytes_to_write`: (w ≥ r) ? size − (w − r) : r − w. */
export function bytesToWrite(writeIndex: number, readIndex: number, size: number): number {
  return writeIndex >= readIndex ? size - (writeIndex - readIndex) : readIndex - writeIndex;
}

/** A write of `total` bytes (packet + trailer) fits only if strictly less than the free space: one slot stays free. */
export function writeFits(total: number, writeIndex: number, readIndex: number, size: number): boolean {
  return bytesToWrite(writeIndex, readIndex, size) > total;
}

/** `index + n` modulo `size` (n ≤ size). */
export function advanceIndex(index: number, n: number, size: number): number {
  const next = index + n;
  return next >= size ? next - size : next;
}

/** Spec 04 rule 3: an index is valid when it is below `size` and a multiple of 8. */
export function isValidRingIndex(index: number, size: number): boolean {
  return index < size && (index & 7) === 0;
}
