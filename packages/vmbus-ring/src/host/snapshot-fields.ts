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
} from '@pvlab/hypercall/host';

export type Fields = { readonly [key: string]: SnapshotData };

/** The shared field readers, under the names this part's code uses. */
export {
  readSnapshotCount as readCount,
  readSnapshotInt as readInt,
  snapshotFieldError as fieldError,
} from '@pvlab/hypercall/host';

/** A u32. */
export function readU32(value: SnapshotData | undefined, where: string): number {
  return readInt(value, where, 0, 0xffff_ffff);
}

export function readBoolean(value: SnapshotData | undefined, where: string): boolean {
  if (typeof value !== 'boolean') throw fieldError(where, value, 'true or false');
  return value;
}

export function readList(value: SnapshotData | undefined, where: string): readonly SnapshotData[] {
  if (!Array.isArray(value)) throw fieldError(where, value, 'a list');
  return value as readonly SnapshotData[];
}

export { readSnapshotObject as readObject };

/** Canonical base64 of at most `maxBytes` bytes. */
export function readBase64(value: SnapshotData | undefined, where: string, maxBytes: number): Uint8Array {
  if (typeof value === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(value) && value.length % 4 === 0) {
    const bytes = Buffer.from(value, 'base64');
    if (bytes.toString('base64') === value && bytes.length <= maxBytes) return new Uint8Array(bytes);
  }
  throw fieldError(where, value, `base64 of at most ${maxBytes} bytes`);
}

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
      throw new SnapshotError(`${where}["${key}"]: not ${what} (0..${max})`);
    return [n, v];
  });
}
