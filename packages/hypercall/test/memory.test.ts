import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { GuestFault, isGuestFault } from '../src/guest-fault.ts';
import { GuestMemory, GuestPage, MAX_GUEST_MEMORY_BYTES } from '../src/memory.ts';
import { catchGuestFault, titled } from './fixtures.ts';

const SIZE = 0x2000; // two pages
const SIZE_N = BigInt(SIZE);

describe('GuestMemory — size', () => {
  it('"The largest RAM a partition may have: 4 GiB"', () => {
    expect(MAX_GUEST_MEMORY_BYTES).toBe(4 * 1024 * 1024 * 1024);
  });

  it.each<[string, number]>([
    ['0 bytes', 0],
    ['less than a page', 4095],
    ['not a page multiple', 4097],
    ['one and a half pages', 6144],
    ['a fraction', 4096.5],
    ['NaN', Number.NaN],
    ['negative', -4096],
    ['more than 4 GiB', MAX_GUEST_MEMORY_BYTES + 4096],
  ])('refuses %s with a RangeError', (_case, size) => {
    expect(() => new GuestMemory(size)).toThrow(RangeError);
  });

  it('refuses a SharedArrayBuffer that is not a page multiple', () => {
    expect(() => new GuestMemory(new SharedArrayBuffer(100))).toThrow(/multiple of 4096/);
  });

  it('wraps an existing SharedArrayBuffer without copying it', () => {
    const sab = new SharedArrayBuffer(SIZE);
    const mem = new GuestMemory(sab);
    new Uint8Array(sab)[0x123] = 0x5a;
    expect(mem.size).toBe(SIZE);
    expect(mem.readU8(0x123n)).toBe(0x5a);
    mem.writeU8(0x124n, 0xa5);
    expect(new Uint8Array(sab)[0x124]).toBe(0xa5);
  });
});

describe('GuestMemory — little-endian accessors', () => {
  it('writeU64 stores the low byte first; the narrower reads see the same bytes', () => {
    const mem = new GuestMemory(SIZE);
    mem.writeU64(0x100n, 0x0102_0304_0506_0708n);
    expect([...mem.read(0x100n, 8)]).toEqual([0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]);
    expect(mem.readU8(0x100n)).toBe(0x08);
    expect(mem.readU16(0x100n)).toBe(0x0708);
    expect(mem.readU32(0x100n)).toBe(0x0506_0708);
    expect(mem.readU32(0x104n)).toBe(0x0102_0304);
    expect(mem.readU64(0x100n)).toBe(0x0102_0304_0506_0708n);
  });

  it.each<[string, (m: GuestMemory) => void, number[]]>([
    ['writeU8', (m) => m.writeU8(0x10n, 0xab), [0xab, 0, 0, 0, 0, 0, 0, 0]],
    ['writeU16', (m) => m.writeU16(0x10n, 0xabcd), [0xcd, 0xab, 0, 0, 0, 0, 0, 0]],
    ['writeU32', (m) => m.writeU32(0x10n, 0x1122_3344), [0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0]],
    [
      'writeU64 of -1 (64-bit wrap)',
      (m) => m.writeU64(0x10n, -1n),
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ],
    ['write', (m) => m.write(0x11n, Uint8Array.of(1, 2, 3)), [0, 1, 2, 3, 0, 0, 0, 0]],
    ['fill', (m) => m.fill(0x12n, 3, 0x7e), [0, 0, 0x7e, 0x7e, 0x7e, 0, 0, 0]],
    [
      'fill defaults to zero',
      (m) => {
        m.bytes.fill(0x55, 0x10, 0x18);
        m.fill(0x10n, 8);
      },
      [0, 0, 0, 0, 0, 0, 0, 0],
    ],
  ])('%s writes exactly its bytes', (_case, act, bytes) => {
    const mem = new GuestMemory(SIZE);
    act(mem);
    expect([...mem.bytes.subarray(0x10, 0x18)]).toEqual(bytes);
    expect(mem.bytes[0x0f]).toBe(0);
    expect(mem.bytes[0x18]).toBe(0);
  });

  it('read returns a copy, not a view of guest RAM', () => {
    const mem = new GuestMemory(SIZE);
    const copy = mem.read(0n, 4);
    copy[0] = 0xff;
    expect(mem.readU8(0n)).toBe(0);
  });

  it('the last byte, word and quadword of RAM are in bounds', () => {
    const mem = new GuestMemory(SIZE);
    mem.writeU64(SIZE_N - 8n, 0x8877_6655_4433_2211n);
    expect(mem.readU8(SIZE_N - 1n)).toBe(0x88);
    expect(mem.readU16(SIZE_N - 2n)).toBe(0x8877);
    expect(mem.readU32(SIZE_N - 4n)).toBe(0x8877_6655);
    expect(mem.read(SIZE_N - 8n, 8).length).toBe(8);
    expect(mem.read(SIZE_N, 0).length).toBe(0);
  });
});

type Access = [name: string, width: number, act: (m: GuestMemory, gpa: bigint) => unknown];
const ACCESSES: Access[] = [
  ['readU8', 1, (m, g) => m.readU8(g)],
  ['readU16', 2, (m, g) => m.readU16(g)],
  ['readU32', 4, (m, g) => m.readU32(g)],
  ['readU64', 8, (m, g) => m.readU64(g)],
  ['writeU8', 1, (m, g) => m.writeU8(g, 1)],
  ['writeU16', 2, (m, g) => m.writeU16(g, 1)],
  ['writeU32', 4, (m, g) => m.writeU32(g, 1)],
  ['writeU64', 8, (m, g) => m.writeU64(g, 1n)],
  ['read(16)', 16, (m, g) => m.read(g, 16)],
  ['write(16)', 16, (m, g) => m.write(g, new Uint8Array(16))],
  ['fill(16)', 16, (m, g) => m.fill(g, 16, 1)],
];

describe('GuestMemory — out of range is a MEMORY fault with the GPA (spec 01 rule 7)', () => {
  const cases = ACCESSES.flatMap(([name, width, act]) =>
    (
      [
        ['a negative GPA', -1n],
        ['the first GPA beyond RAM', SIZE_N],
        ['an access straddling the end of RAM', SIZE_N - BigInt(width) + 1n],
        ['a GPA beyond 2^64', 1n << 64n],
      ] as const
    ).map(([where, gpa]) => ({ name, where, gpa, act })),
  );

  it.each(titled(cases, (c) => `${c.name} at ${c.where}`))('%s', (_title, { gpa, act }) => {
    const mem = new GuestMemory(SIZE);
    mem.bytes.fill(0x33);
    const fault = catchGuestFault(() => act(mem, gpa), 'MEMORY');
    expect(fault.gpa).toBe(gpa);
    expect(fault.message).toMatch(/^#MEMORY: access to GPA/);
    expect(mem.bytes.every((b) => b === 0x33)).toBe(true);
  });

  it.each<[string, number]>([
    ['a negative length', -1],
    ['a fractional length', 1.5],
    ['an infinite length', Number.POSITIVE_INFINITY],
    ['NaN', Number.NaN],
  ])('read with %s is a MEMORY fault, never a RangeError', (_case, length) => {
    const mem = new GuestMemory(SIZE);
    expect(catchGuestFault(() => mem.read(0n, length), 'MEMORY').gpa).toBe(0n);
    expect(mem.contains(0n, length)).toBe(false);
  });

  test.prop(
    [
      fc.oneof(fc.bigInt({ min: -(1n << 65n), max: 1n << 65n }), fc.bigInt({ min: -16n, max: SIZE_N + 16n })),
      fc.oneof(fc.integer({ min: -16, max: SIZE + 16 }), fc.double(), fc.nat()),
    ],
    { numRuns: 300 },
  )('random gpa/length never throws anything but a MEMORY GuestFault', (gpa, length) => {
    const mem = new GuestMemory(SIZE);
    const inRange = gpa >= 0n && Number.isInteger(length) && length >= 0 && gpa + BigInt(length) <= SIZE_N;
    expect(mem.contains(gpa, length)).toBe(inRange);
    try {
      const bytes = mem.read(gpa, length);
      expect(inRange).toBe(true);
      expect(bytes.length === length).toBe(true); // === so that a length of -0 reads 0 bytes
      mem.fill(gpa, length, 0xee);
    } catch (e) {
      expect(isGuestFault(e, 'MEMORY')).toBe(true);
      expect((e as GuestFault).gpa).toBe(gpa);
      expect(inRange).toBe(false);
    }
  });
});

describe('GuestPage — 4 KiB page helpers', () => {
  it.each<[string, () => unknown, unknown]>([
    ['number(0x1FFF) = 1', () => GuestPage.number(0x1fffn), 1n],
    ['number(0x2000) = 2', () => GuestPage.number(0x2000n), 2n],
    ['address(3) = 0x3000', () => GuestPage.address(3n), 0x3000n],
    ['offset(0x1234) = 0x234', () => GuestPage.offset(0x1234n), 0x234],
    ['isAligned(0x2000)', () => GuestPage.isAligned(0x2000n), true],
    ['not isAligned(0x2008)', () => GuestPage.isAligned(0x2008n), false],
    ['8 bytes at 0xFF8 stay in the page', () => GuestPage.straddles(0xff8n, 8), false],
    ['9 bytes at 0xFF8 straddle', () => GuestPage.straddles(0xff8n, 9), true],
    ['a whole page at 0x1000 does not straddle', () => GuestPage.straddles(0x1000n, 4096), false],
    ['a whole page at 0x1008 straddles', () => GuestPage.straddles(0x1008n, 4096), true],
    ['an empty range never straddles', () => GuestPage.straddles(0xfffn, 0), false],
  ])('%s', (_case, act, expected) => {
    expect(act()).toBe(expected);
  });
});

describe('GuestFault', () => {
  it('carries the vector, the GPA and a "#VECTOR:" message', () => {
    const f = new GuestFault('MEMORY', 'boom', 0x10n);
    expect(f).toBeInstanceOf(Error);
    expect(f.name).toBe('GuestFault');
    expect(f.message).toBe('#MEMORY: boom');
    expect(f.gpa).toBe(0x10n);
    expect(new GuestFault('GP', 'x').gpa).toBeUndefined();
  });

  it.each<[string, unknown, 'UD' | 'GP' | 'MEMORY' | undefined, boolean]>([
    ['a #GP with no vector filter', new GuestFault('GP', 'x'), undefined, true],
    ['a #GP filtered for GP', new GuestFault('GP', 'x'), 'GP', true],
    ['a #GP filtered for UD', new GuestFault('GP', 'x'), 'UD', false],
    ['a plain Error', new Error('x'), undefined, false],
  ])('isGuestFault: %s', (_case, e, vector, expected) => {
    expect(isGuestFault(e, vector)).toBe(expected);
  });
});

describe('isGuestFault across copies of the module', () => {
  it('recognises a fault made by another copy of @pvlab/hypercall (a guest image bundles its own)', () => {
    // What another bundle's GuestFault looks like from here: not our class, but branded.
    const other = Object.assign(new Error('#MEMORY: elsewhere'), { vector: 'MEMORY' });
    Object.defineProperty(other, 'name', { value: 'GuestFault' });
    (other as unknown as Record<symbol, unknown>)[Symbol.for('@pvlab/hypercall.GuestFault')] = true;
    expect(isGuestFault(other)).toBe(true);
    expect(isGuestFault(other, 'MEMORY')).toBe(true);
    expect(isGuestFault(other, 'GP')).toBe(false);
    expect(isGuestFault(new Error('#MEMORY: an ordinary error'))).toBe(false);
    expect(isGuestFault({ name: 'GuestFault', vector: 'MEMORY' })).toBe(false);
  });
});
