/**
 * Declared little-endian byte layouts: hypercall input and output headers, rep elements, SynIC
 * and VMBus messages. One table of (field, offset, type) per structure drives its encoder, its
 * decoder, its size and one typed accessor per field, the way `defineBitLayout` does for
 * registers. Decoders take untrusted bytes: a buffer shorter than the structure decodes to
 * `null`, never to an exception.
 */
import type { BitFieldSpec, BitLayout } from './bit-layout.js';

/**
 * A field's wire type: little-endian integers, a 16-byte GUID, a fixed byte array, or a nested
 * structure (e.g. the HV_VP_SET header inside a flush input).
 */
export type ByteFieldType =
  | 'u8'
  | 'u16'
  | 'u32'
  | 'u64'
  | 'guid'
  | { readonly bytes: number }
  | { readonly struct: ByteStruct<readonly ByteFieldSpec[]> };

/** How a field is treated: a value, or RsvdZ (must be zero on input; the handler names the status). */
export type ByteFieldKind = 'value' | 'reserved-zero';

/** One declared field. */
export interface ByteFieldSpec<N extends string = string> {
  readonly name: N;
  readonly offset: number;
  readonly type: ByteFieldType;
  /** Defaults to `value`. */
  readonly kind?: ByteFieldKind;
  /** The bit layout of an integer field (flags, packed values), declared once beside the struct. */
  readonly layout?: BitLayout<readonly BitFieldSpec[]>;
}

type FieldValue<T extends ByteFieldType> = T extends 'u64'
  ? bigint
  : T extends 'u8' | 'u16' | 'u32'
    ? number
    : T extends { readonly struct: ByteStruct<infer G> }
      ? ByteStructValues<G>
      : Uint8Array;

type FieldInput<T extends ByteFieldType> = T extends { readonly struct: ByteStruct<infer G> }
  ? ByteStructInput<G>
  : FieldValue<T>;

/** The decoded values of a structure: numbers for u8–u32, bigints for u64, bytes for the rest. */
export type ByteStructValues<F extends readonly ByteFieldSpec[]> = {
  [K in F[number] as K['name']]: FieldValue<K['type']>;
};

/** What `write`/`encode` take: any subset of the fields (nested structures partially too). */
export type ByteStructInput<F extends readonly ByteFieldSpec[]> = {
  readonly [K in F[number] as K['name']]?: FieldInput<K['type']>;
};

/**
 * One field's accessor: reads and writes it in a view at a structure's base offset (a rep
 * element's offset, a header inside a page). Made once per field at declaration, so handlers
 * hoist it and pay one inlined call per access.
 */
export interface ByteField<T> {
  readonly name: string;
  /** Byte offset within the structure. */
  readonly offset: number;
  /** Bytes the field takes. */
  readonly bytes: number;
  readonly type: ByteFieldType;
  readonly kind: ByteFieldKind;
  readonly layout: BitLayout<readonly BitFieldSpec[]> | undefined;
  /** Reads the field of the structure at `base` (a copy for byte arrays). */
  get(view: DataView, base?: number): T;
  /** Writes the field of the structure at `base` (integers must fit; u64 wraps to 64 bits). */
  set(view: DataView, value: T, base?: number): void;
  /** `true` when every byte of the field is zero (RsvdZ checks). */
  isZero(view: DataView, base?: number): boolean;
}

/** A u64 field also reads as its two u32 halves, for hot paths that avoid bigints. */
export interface U64ByteField extends ByteField<bigint> {
  getLow(view: DataView, base?: number): number;
  getHigh(view: DataView, base?: number): number;
}

/** The accessor type of a field of type `T`. */
export type ByteFieldOf<T extends ByteFieldType> = T extends 'u64' ? U64ByteField : ByteField<FieldValue<T>>;

/** The accessors of a structure's fields, by name. */
export type ByteStructAccessors<F extends readonly ByteFieldSpec[]> = {
  readonly [K in F[number] as K['name']]: ByteFieldOf<K['type']>;
};

/** A declared structure. */
export interface ByteStruct<F extends readonly ByteFieldSpec[]> {
  readonly name: string;
  /** Bytes up to the end of the last field. */
  readonly size: number;
  readonly fields: F;
  /**
   * One typed accessor per field, by name: `Input.accessors.flags.get(view, base)`. Made once at
   * declaration; hot paths keep the accessor (or the whole object) in a module constant.
   */
  readonly accessors: ByteStructAccessors<F>;
  /** Byte offset of a field. */
  offsetOf(field: F[number]['name']): number;
  /** Writes the given fields at `at` in `view` (missing fields are left as they are). */
  write(view: DataView, at: number, values: ByteStructInput<F>): void;
  /** Encodes into a fresh zeroed buffer of `size` bytes (or `minSize` when larger). */
  encode(values: ByteStructInput<F>, minSize?: number): Uint8Array;
  /** Decodes from `bytes`; `null` when fewer than `size` bytes are given. */
  decode(bytes: Uint8Array): ByteStructValues<F> | null;
}

function fieldBytes(type: ByteFieldType): number {
  if (type === 'u8') return 1;
  if (type === 'u16') return 2;
  if (type === 'u32') return 4;
  if (type === 'u64') return 8;
  if (type === 'guid') return 16;
  return 'struct' in type ? type.struct.size : type.bytes;
}

function checkInt(struct: string, field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${struct}.${field} = ${String(value)} does not fit: use an integer 0..${max}`);
  }
  return value;
}

function allZero(view: DataView, from: number, bytes: number): boolean {
  for (let i = 0; i < bytes; i++) if (view.getUint8(from + i) !== 0) return false;
  return true;
}

type AnyField = ByteField<unknown> & Partial<Pick<U64ByteField, 'getLow' | 'getHigh'>>;

/** The accessor of one field: per-type closures over its offset, so that each call site stays monomorphic. */
function makeField(struct: string, spec: ByteFieldSpec): AnyField {
  const { name, offset, type } = spec;
  const bytes = fieldBytes(type);
  const common = {
    name,
    offset,
    bytes,
    type,
    kind: spec.kind ?? 'value',
    layout: spec.layout,
    isZero: (view: DataView, base = 0) => allZero(view, base + offset, bytes),
  } as const;
  if (type === 'u8')
    return {
      ...common,
      get: (view, base = 0) => view.getUint8(base + offset),
      set: (view, value, base = 0) => view.setUint8(base + offset, checkInt(struct, name, value, 0xff)),
    };
  if (type === 'u16')
    return {
      ...common,
      get: (view, base = 0) => view.getUint16(base + offset, true),
      set: (view, value, base = 0) =>
        view.setUint16(base + offset, checkInt(struct, name, value, 0xffff), true),
    };
  if (type === 'u32')
    return {
      ...common,
      get: (view, base = 0) => view.getUint32(base + offset, true),
      set: (view, value, base = 0) =>
        view.setUint32(base + offset, checkInt(struct, name, value, 0xffff_ffff), true),
    };
  if (type === 'u64')
    return {
      ...common,
      get: (view, base = 0) => view.getBigUint64(base + offset, true),
      set: (view, value, base = 0) =>
        view.setBigUint64(base + offset, BigInt.asUintN(64, value as bigint), true),
      getLow: (view, base = 0) => view.getUint32(base + offset, true),
      getHigh: (view, base = 0) => view.getUint32(base + offset + 4, true),
    };
  if (typeof type === 'object' && 'struct' in type) {
    const inner = type.struct;
    return {
      ...common,
      get: (view, base = 0) =>
        inner.decode(new Uint8Array(view.buffer, view.byteOffset + base + offset, inner.size)),
      set: (view, value, base = 0) => inner.write(view, base + offset, value as ByteStructInput<never>),
    };
  }
  return {
    ...common,
    get: (view, base = 0) =>
      new Uint8Array(
        view.buffer.slice(view.byteOffset + base + offset, view.byteOffset + base + offset + bytes),
      ),
    set: (view, value, base = 0) => {
      const src = value as Uint8Array;
      if (!(src instanceof Uint8Array) || src.length > bytes) {
        throw new RangeError(`${struct}.${name}: expected at most ${bytes} bytes`);
      }
      const dst = new Uint8Array(view.buffer, view.byteOffset + base + offset, bytes);
      dst.fill(0);
      dst.set(src);
    },
  };
}

/**
 * Declares a structure. Overlapping fields, or a bit layout on a field that is not an integer,
 * are declaration bugs and throw at module load.
 */
export function defineByteStruct<const F extends readonly ByteFieldSpec[]>(
  name: string,
  fields: F,
): ByteStruct<F> {
  let size = 0;
  const sorted = [...fields].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const f of sorted) {
    if (!Number.isInteger(f.offset) || f.offset < 0)
      throw new Error(`${name}.${f.name}: offset ${f.offset} is not a byte offset`);
    if (f.offset < end) throw new Error(`${name}.${f.name} at ${f.offset} overlaps the previous field`);
    if (f.layout !== undefined && typeof f.type === 'object')
      throw new Error(`${name}.${f.name}: only an integer field has a bit layout`);
    end = f.offset + fieldBytes(f.type);
    size = Math.max(size, end);
  }
  const accessors = new Map(fields.map((f) => [f.name, makeField(name, f)]));
  const struct: ByteStruct<F> = {
    name,
    size,
    fields,
    accessors: Object.freeze(Object.fromEntries(accessors)) as ByteStructAccessors<F>,
    offsetOf(field) {
      const f = accessors.get(field);
      if (f === undefined) throw new Error(`${name} has no field ${field}`);
      return f.offset;
    },
    write(view, at, values) {
      for (const [key, value] of Object.entries(values as Record<string, unknown>)) {
        const f = accessors.get(key);
        if (f === undefined) throw new RangeError(`${name} has no field ${key}`);
        f.set(view, value, at);
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
      const out: Record<string, unknown> = {};
      for (const f of fields) out[f.name] = accessors.get(f.name)!.get(view, 0);
      return out as ByteStructValues<F>;
    },
  };
  return struct;
}
