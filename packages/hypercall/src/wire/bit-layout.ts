/**
 * Declared bit layouts of 64-bit registers and control words.
 *
 * One declaration per register drives encode, decode, reserved-bit validation and the trace's
 * pretty-printer. Every bit of the 64 belongs to exactly one field; reserved ranges are fields
 * too, so a decoder can say "reserved bits set" instead of silently masking them.
 */

/** How a field's bits are treated. */
export type BitFieldKind =
  /** A named value. */
  | 'value'
  /** RsvdZ: must be zero; a set bit is a guest error. */
  | 'reserved-zero'
  /** RsvdP: the writer preserves what it read; the reader ignores it. */
  | 'reserved-preserve'
  /** Reserved in a value the hypervisor writes: written as zero, ignored by the reader. */
  | 'reserved-ignore';

/** One field of a layout, as declared. */
export interface BitFieldSpec<N extends string = string> {
  readonly name: N;
  /** Lowest bit of the field (0 = least significant). */
  readonly lsb: number;
  /** Width in bits, 1..53 so that the value is an exact JS number. */
  readonly width: number;
  readonly kind?: BitFieldKind;
}

/** A field with its precomputed masks. `get`/`set` work on the two 32-bit halves of the value. */
export interface BitField<N extends string = string> {
  readonly name: N;
  readonly lsb: number;
  readonly width: number;
  readonly kind: BitFieldKind;
  /** Mask of this field's bits within the 64-bit value. */
  readonly mask: bigint;
  /** Reads the field from the low and high 32-bit halves of the value. */
  get(lo: number, hi: number): number;
}

type ValueNames<F extends readonly BitFieldSpec[]> = {
  [K in keyof F]: F[K] extends { kind: 'reserved-zero' | 'reserved-ignore' | 'reserved-preserve' }
    ? never
    : F[K] extends BitFieldSpec<infer N>
      ? N
      : never;
}[number];

/** The decoded value fields of a layout. */
export type BitFields<F extends readonly BitFieldSpec[]> = { [K in ValueNames<F>]: number };

/** A 64-bit layout: encode, decode, validate and describe values. */
export interface BitLayout<F extends readonly BitFieldSpec[]> {
  readonly name: string;
  readonly fields: readonly BitField<F[number]['name']>[];
  /** Bits that must be zero (RsvdZ). */
  readonly reservedZeroMask: bigint;
  /** Looks a field up by name. */
  field(name: F[number]['name']): BitField;
  /** Decodes the value fields; reserved fields are not returned (see `reservedZeroBits`). */
  decode(value: bigint): BitFields<F>;
  /** Encodes value fields (missing ones are 0). Throws RangeError for a value that does not fit. */
  encode(fields: Partial<BitFields<F>>): bigint;
  /** The RsvdZ bits that are set in `value` (0n when the value is well-formed). */
  reservedZeroBits(value: bigint): bigint;
  /** One-line rendering for traces, e.g. `CallCode=0x8 Fast=1 RsvdZ[30:27]=0x3!`. */
  describe(value: bigint): string;
}

function makeField<N extends string>(spec: BitFieldSpec<N>): BitField<N> {
  const { name, lsb, width } = spec;
  const kind = spec.kind ?? 'value';
  const mask = ((1n << BigInt(width)) - 1n) << BigInt(lsb);
  const msb = lsb + width - 1;
  let get: (lo: number, hi: number) => number;
  if (msb < 32) {
    const m = width === 32 ? 0xffff_ffff : (1 << width) - 1;
    get = width === 32 ? (lo) => lo >>> 0 : (lo) => (lo >>> lsb) & m;
  } else if (lsb >= 32) {
    const shift = lsb - 32;
    get =
      width === 32
        ? (_lo, hi) => hi >>> 0
        : width === 1
          ? (_lo, hi) => (hi >>> shift) & 1
          : (_lo, hi) => ((hi >>> shift) & ((1 << width) - 1)) >>> 0;
  } else {
    // Straddles bit 32: combine both halves with float arithmetic (exact below 2^53).
    const loBits = 32 - lsb;
    const hiBits = width - loBits;
    const hiMask = hiBits === 32 ? 0xffff_ffff : (1 << hiBits) - 1;
    get = (lo, hi) => (lo >>> lsb) + ((hi & hiMask) >>> 0) * 2 ** loBits;
  }
  return { name, lsb, width, kind, mask, get };
}

function reservedLabel(f: BitField): string {
  const tag = f.kind === 'reserved-zero' ? 'RsvdZ' : f.kind === 'reserved-preserve' ? 'RsvdP' : 'Rsvd';
  return f.width === 1 ? `${tag}[${f.lsb}]` : `${tag}[${f.lsb + f.width - 1}:${f.lsb}]`;
}

/**
 * Declares a 64-bit layout. The fields must cover bits 0..63 exactly once; a gap or an overlap
 * is a declaration bug and throws at module load.
 */
export function defineBitLayout<const F extends readonly BitFieldSpec[]>(
  name: string,
  specs: F,
): BitLayout<F> {
  const fields = specs.map((s) => makeField(s));
  let covered = 0n;
  for (const f of fields) {
    if (!Number.isInteger(f.width) || f.width < 1 || f.width > 53 || f.lsb < 0 || f.lsb + f.width > 64) {
      throw new Error(`${name}.${f.name}: bits ${f.lsb}+${f.width} are not a valid 53-bit-or-less field`);
    }
    if (covered & f.mask) throw new Error(`${name}.${f.name} overlaps another field`);
    covered |= f.mask;
  }
  if (covered !== 0xffff_ffff_ffff_ffffn) {
    throw new Error(
      `${name}: fields leave bits uncovered (mask 0x${(~covered & 0xffff_ffff_ffff_ffffn).toString(16)})`,
    );
  }
  const byName = new Map(fields.map((f) => [f.name, f]));
  const valueFields = fields.filter((f) => f.kind === 'value');
  const reservedZeroMask = fields.filter((f) => f.kind === 'reserved-zero').reduce((m, f) => m | f.mask, 0n);

  return {
    name,
    fields,
    reservedZeroMask,
    field(fieldName) {
      const f = byName.get(fieldName);
      if (!f) throw new Error(`${name} has no field ${fieldName}`);
      return f;
    },
    decode(value) {
      const [lo, hi] = splitU64(value);
      const out: Record<string, number> = {};
      for (const f of valueFields) out[f.name] = f.get(lo, hi);
      return out as BitFields<F>;
    },
    encode(values) {
      let v = 0n;
      for (const [key, raw] of Object.entries(values as Record<string, number | undefined>)) {
        if (raw === undefined) continue;
        const f = byName.get(key);
        if (f?.kind !== 'value') throw new RangeError(`${name} has no value field ${key}`);
        if (!Number.isSafeInteger(raw) || raw < 0 || raw >= 2 ** f.width) {
          throw new RangeError(`${name}.${key} = ${raw} does not fit in ${f.width} bits`);
        }
        v |= BigInt(raw) << BigInt(f.lsb);
      }
      return v;
    },
    reservedZeroBits(value) {
      return value & reservedZeroMask;
    },
    describe(value) {
      const [lo, hi] = splitU64(value);
      const parts: string[] = [];
      for (const f of fields) {
        const x = f.get(lo, hi);
        if (f.kind === 'value') parts.push(`${f.name}=0x${x.toString(16)}`);
        else if (x !== 0)
          parts.push(`${reservedLabel(f)}=0x${x.toString(16)}${f.kind === 'reserved-zero' ? '!' : ''}`);
      }
      return parts.join(' ');
    },
  };
}

/** Splits a 64-bit value into its low and high 32-bit halves (the form `BitField.get` takes). */
export function splitU64(value: bigint): [lo: number, hi: number] {
  return [Number(value & 0xffff_ffffn), Number((value >> 32n) & 0xffff_ffffn)];
}

/** Joins two 32-bit halves into a 64-bit value. */
export function joinU64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
