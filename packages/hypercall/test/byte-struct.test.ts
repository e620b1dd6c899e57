import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { defineBitLayout } from '../src/wire/bit-layout.ts';
import { type ByteFieldSpec, defineByteStruct } from '../src/wire/byte-struct.ts';

const Inner = defineByteStruct('Inner', [
  { name: 'a', offset: 0, type: 'u64' },
  { name: 'b', offset: 8, type: 'u64' },
] as const);

const Flags = defineBitLayout('Flags', [
  { name: 'On', lsb: 0, width: 1 },
  { name: 'Rsvd', lsb: 1, width: 53, kind: 'reserved-zero' },
  { name: 'RsvdHigh', lsb: 54, width: 10, kind: 'reserved-zero' },
] as const);

/** Every field type, a RsvdZ gap, a nested structure and a field with a bit layout. */
const Sample = defineByteStruct('Sample', [
  { name: 'u8', offset: 0, type: 'u8' },
  { name: 'rsvd', offset: 1, type: { bytes: 1 }, kind: 'reserved-zero' },
  { name: 'u16', offset: 2, type: 'u16' },
  { name: 'u32', offset: 4, type: 'u32' },
  { name: 'u64', offset: 8, type: 'u64', layout: Flags },
  { name: 'guid', offset: 16, type: 'guid' },
  { name: 'inner', offset: 32, type: { struct: Inner } },
  { name: 'tail', offset: 48, type: { bytes: 3 } },
] as const);

const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const valuesArb = fc.record({
  u8: fc.integer({ min: 0, max: 0xff }),
  u16: fc.integer({ min: 0, max: 0xffff }),
  u32: fc.integer({ min: 0, max: 0xffff_ffff }),
  u64,
  guid: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  inner: fc.record({ a: u64, b: u64 }),
  tail: fc.uint8Array({ minLength: 3, maxLength: 3 }),
});

describe('defineByteStruct — declaration', () => {
  it('size is the end of the last field; offsets and accessors come from the table', () => {
    expect(Sample.size).toBe(51);
    expect(Inner.size).toBe(16);
    expect(Sample.offsetOf('inner')).toBe(32);
    expect(Sample.accessors.inner).toMatchObject({ name: 'inner', offset: 32, bytes: 16, kind: 'value' });
    expect(Sample.accessors.rsvd).toMatchObject({ offset: 1, bytes: 1, kind: 'reserved-zero' });
    expect(Sample.accessors.u64.layout).toBe(Flags);
  });

  it.each<[string, ByteFieldSpec[], RegExp]>([
    [
      'overlapping fields',
      [
        { name: 'a', offset: 0, type: 'u32' },
        { name: 'b', offset: 2, type: 'u16' },
      ],
      /Bad\.b at 2 overlaps the previous field/,
    ],
    ['a negative offset', [{ name: 'a', offset: -1, type: 'u8' }], /Bad\.a: offset -1 is not a byte offset/],
    [
      'a bit layout on a byte array',
      [{ name: 'a', offset: 0, type: { bytes: 8 }, layout: Flags }],
      /Bad\.a: only an integer field has a bit layout/,
    ],
  ])('refuses %s', (_case, fields, message) => {
    expect(() => defineByteStruct('Bad', fields)).toThrow(message);
  });

  it('an unknown field name throws (a host bug, never guest data)', () => {
    expect(() => Sample.offsetOf('nope' as 'u8')).toThrow(/Sample has no field nope/);
    expect(Object.keys(Sample.accessors)).toEqual([
      'u8',
      'rsvd',
      'u16',
      'u32',
      'u64',
      'guid',
      'inner',
      'tail',
    ]);
    expect(Object.isFrozen(Sample.accessors)).toBe(true);
    expect(() => Sample.encode({ nope: 1 } as never)).toThrow(RangeError);
  });
});

describe('defineByteStruct — encode, decode and the field accessors agree', () => {
  test.prop([valuesArb])('decode(encode(v)) = v', (v) => {
    expect(Sample.decode(Sample.encode(v))).toEqual({ ...v, rsvd: new Uint8Array(1) });
  });

  test.prop([valuesArb, fc.integer({ min: 0, max: 64 })])(
    'field(name).get at a base offset reads what encode wrote; set writes what decode reads',
    (v, base) => {
      const bytes = new Uint8Array(base + Sample.size);
      bytes.set(Sample.encode(v), base);
      const view = new DataView(bytes.buffer);
      expect(Sample.accessors.u8.get(view, base)).toBe(v.u8);
      expect(Sample.accessors.u16.get(view, base)).toBe(v.u16);
      expect(Sample.accessors.u32.get(view, base)).toBe(v.u32);
      expect(Sample.accessors.u64.get(view, base)).toBe(v.u64);
      expect(Sample.accessors.u64.getLow(view, base)).toBe(Number(v.u64 & 0xffff_ffffn));
      expect(Sample.accessors.u64.getHigh(view, base)).toBe(Number(v.u64 >> 32n));
      expect(Sample.accessors.guid.get(view, base)).toEqual(v.guid);
      expect(Sample.accessors.inner.get(view, base)).toEqual(v.inner);
      expect(Sample.accessors.tail.get(view, base)).toEqual(v.tail);

      const again = new Uint8Array(base + Sample.size);
      const w = new DataView(again.buffer);
      Sample.accessors.u8.set(w, v.u8, base);
      Sample.accessors.u16.set(w, v.u16, base);
      Sample.accessors.u32.set(w, v.u32, base);
      Sample.accessors.u64.set(w, v.u64, base);
      Sample.accessors.guid.set(w, v.guid, base);
      Sample.accessors.inner.set(w, v.inner, base);
      Sample.accessors.tail.set(w, v.tail, base);
      expect(again).toEqual(bytes);
    },
  );

  it('isZero reports a set RsvdZ byte; decode of a short buffer is null, never a throw', () => {
    const bytes = Sample.encode({});
    const view = new DataView(bytes.buffer);
    expect(Sample.accessors.rsvd.isZero(view)).toBe(true);
    bytes[1] = 0x80;
    expect(Sample.accessors.rsvd.isZero(view)).toBe(false);
    expect(Sample.decode(bytes.subarray(0, Sample.size - 1))).toBeNull();
  });

  it.each([
    ['u8', 0x100],
    ['u16', -1],
    ['u32', 1.5],
  ] as const)('%s = %s does not fit: RangeError naming the field', (name, value) => {
    expect(() => Sample.encode({ [name]: value })).toThrow(
      new RegExp(`Sample\\.${name} = ${value} does not fit`),
    );
  });

  it('a u64 wraps to 64 bits; a byte array longer than its field is a RangeError', () => {
    const view = new DataView(new ArrayBuffer(Sample.size));
    Sample.accessors.u64.set(view, -1n);
    expect(Sample.accessors.u64.get(view)).toBe(0xffff_ffff_ffff_ffffn);
    expect(() => Sample.encode({ tail: new Uint8Array(4) })).toThrow(
      /Sample\.tail: expected at most 3 bytes/,
    );
  });
});
