/**
 * Declared little-endian byte layouts for the SynIC and VMBus message structures: one table of
 * (field, offset, type) per structure drives its encoder, its decoder and its size, the way
 * `defineBitLayout` does for registers. Decoders take untrusted bytes: a buffer shorter than the
 * structure decodes to `null`, never to an exception.
 */

/** A field's wire type: little-endian integers, a 16-byte GUID, or a fixed byte array. */
export type ByteFieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'guid' | { readonly bytes: number };

/** One declared field. */
export interface ByteFieldSpec<N extends string = string> {
  readonly name: N;
  readonly offset: number;
  readonly type: ByteFieldType;
}

type FieldValue<T extends ByteFieldType> = T extends 'u64'
  ? bigint
  : T extends 'u8' | 'u16' | 'u32'
    ? number
    : Uint8Array;

/** The decoded values of a structure: numbers for u8–u32, bigints for u64, bytes for the rest. */
export type ByteStructValues<F extends readonly ByteFieldSpec[]> = {
  [K in F[number] as K['name']]: FieldValue<K['type']>;
};

/** A declared structure. */
export interface ByteStruct<F extends readonly ByteFieldSpec[]> {
  readonly name: string;
  /** Bytes up to the end of the last field. */
  readonly size: number;
  readonly fields: F;
  /** Byte offset of a field. */
  offsetOf(field: F[number]['name']): number;
  /** Writes the given fields at `at` in `view` (missing fields are left as they are). */
  write(view: DataView, at: number, values: Partial<ByteStructValues<F>>): void;
  /** Encodes into a fresh zeroed buffer of `size` bytes (or `minSize` when larger). */
  encode(values: Partial<ByteStructValues<F>>, minSize?: number): Uint8Array;
  /** Decodes from `bytes`; `null` when fewer than `size` bytes are given. */
  decode(bytes: Uint8Array): ByteStructValues<F> | null;
}

function fieldBytes(type: ByteFieldType): number {
  if (type === 'u8') return 1;
  if (type === 'u16') return 2;
  if (type === 'u32') return 4;
  if (type === 'u64') return 8;
  if (type === 'guid') return 16;
  return type.bytes;
}

/** Declares a structure. Overlapping fields are a declaration bug and throw at module load. */
export function defineByteStruct<const F extends readonly ByteFieldSpec[]>(
  name: string,
  fields: F,
): ByteStruct<F> {
  let size = 0;
  const sorted = [...fields].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const f of sorted) {
    if (f.offset < end) throw new Error(`${name}.${f.name} at ${f.offset} overlaps the previous field`);
    end = f.offset + fieldBytes(f.type);
    size = Math.max(size, end);
  }
  const byName = new Map(fields.map((f) => [f.name, f]));
  const struct: ByteStruct<F> = {
    name,
    size,
    fields,
    offsetOf(field) {
      const f = byName.get(field);
      if (f === undefined) throw new Error(`${name} has no field ${field}`);
      return f.offset;
    },
    write(view, at, values) {
      for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
        const f = byName.get(key);
        if (f === undefined) throw new RangeError(`${name} has no field ${key}`);
        const o = at + f.offset;
        if (f.type === 'u8') view.setUint8(o, checkInt(name, key, value, 0xff));
        else if (f.type === 'u16') view.setUint16(o, checkInt(name, key, value, 0xffff), true);
        else if (f.type === 'u32') view.setUint32(o, checkInt(name, key, value, 0xffff_ffff), true);
        else if (f.type === 'u64') view.setBigUint64(o, BigInt.asUintN(64, value as bigint), true);
        else {
          const n = fieldBytes(f.type);
          const src = value as Uint8Array;
          if (!(src instanceof Uint8Array) || src.length > n) {
            throw new RangeError(`${name}.${key}: expected at most ${n} bytes`);
          }
          const dst = new Uint8Array(view.buffer, view.byteOffset + o, n);
          dst.fill(0);
          dst.set(src);
        }
      }
    },
    encode(values, minSize = 0) {
      const out = new Uint8Array(Math.max(size, minSize));
      struct.write(new DataView(out.buffer), 0, values);
      return out;
    },
    decode(bytes) {
      if (bytes.length < size) return null;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out: Record<string, number | bigint | Uint8Array> = {};
      for (const f of fields) {
        if (f.type === 'u8') out[f.name] = view.getUint8(f.offset);
        else if (f.type === 'u16') out[f.name] = view.getUint16(f.offset, true);
        else if (f.type === 'u32') out[f.name] = view.getUint32(f.offset, true);
        else if (f.type === 'u64') out[f.name] = view.getBigUint64(f.offset, true);
        else out[f.name] = bytes.slice(f.offset, f.offset + fieldBytes(f.type));
      }
      return out as ByteStructValues<F>;
    },
  };
  return struct;
}

function checkInt(struct: string, field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${struct}.${field} = ${String(value)} does not fit: use an integer 0..${max}`);
  }
  return value;
}
