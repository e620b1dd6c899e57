import { initRingControl, RING_CONTROL_PAGE_SIZE, RingMemory, RingReader, RingWriter } from '../src/index.ts';

/** Bytes from a hex string with spaces: `hex('06 00 02 00')`. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

/** A hex string of bytes, space-separated. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** A fresh SharedArrayBuffer ring with `dataPages` data pages, its writer and reader. */
export function ring(dataPages = 1, featureBits = 1) {
  const memory = RingMemory.allocate(dataPages * 4096);
  initRingControl(memory, { featureBits });
  return { memory, writer: new RingWriter(memory), reader: new RingReader(memory) };
}

/** The data bytes of a SharedArrayBuffer ring's memory. */
export function dataBytes(memory: RingMemory, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  memory.copyOut(offset, out);
  return out;
}

/** Sets a control word of a ring directly (what a misbehaving peer does). */
export function poke(memory: RingMemory, word: number, value: number): void {
  Atomics.store(memory.control, word, value >>> 0);
}

/** Bytes `[start, start+1, …]` mod 256. */
export function pattern(length: number, start = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);
}

export { RING_CONTROL_PAGE_SIZE };
