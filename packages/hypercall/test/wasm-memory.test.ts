import { fc, test } from '@fast-check/vitest';
import { describe, expect, it, vi } from 'vitest';
import { GuestMemory, MAX_GUEST_MEMORY_BYTES } from '../src/memory.ts';
import { WASM_PAGE_SIZE, type WasmMemory, wasmGuestRamError, wasmMemoryBytes } from '../src/wasm-memory.ts';
import { catchGuestFault } from './fixtures.ts';

/** The WebAssembly API as these tests use it (the ES libs have no WebAssembly types). */
interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * A wasm guest in miniature: imports `env.memory` (shared, 1..65536 pages) and exports
 * `load(addr)` (i32.load8_u) and `store(addr, value)` (i32.store8).
 */
const ACCESS_MODULE = Uint8Array.of(
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  // types: (i32) -> i32, (i32, i32) -> ()
  ...[0x01, 0x0b, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x00],
  // import "env" "memory": memory, shared with a maximum, min 1, max 65536
  ...[0x02, 0x12, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79],
  ...[0x02, 0x03, 0x01, 0x80, 0x80, 0x04],
  // functions: type 0, type 1
  ...[0x03, 0x03, 0x02, 0x00, 0x01],
  // exports: "load" = func 0, "store" = func 1
  ...[0x07, 0x10, 0x02, 0x04, 0x6c, 0x6f, 0x61, 0x64, 0x00, 0x00],
  ...[0x05, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x00, 0x01],
  // code: local.get 0; i32.load8_u — local.get 0; local.get 1; i32.store8
  ...[0x0a, 0x13, 0x02, 0x07, 0x00, 0x20, 0x00, 0x2d, 0x00, 0x00, 0x0b],
  ...[0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0x3a, 0x00, 0x00, 0x0b],
);

function wasmGuest(memory: WasmMemory): { load(addr: number): number; store(addr: number, v: number): void } {
  const instance = new WA.Instance(new WA.Module(ACCESS_MODULE), { env: { memory } });
  return instance.exports as { load(addr: number): number; store(addr: number, v: number): void };
}

const KIB_64 = 0x10000;
/** What wasmGuestRamError says is accepted. */
const ACCEPTED = 'use a multiple of 65536 bytes (the 64 KiB wasm page) from 65536 to 4294967296';

describe('GuestMemory — a shared WebAssembly.Memory', () => {
  it('allocated by size, RAM is the buffer of a shared WebAssembly.Memory that never grows', () => {
    const mem = new GuestMemory(2 * KIB_64);
    expect(mem.wasmMemory).toBeInstanceOf(WA.Memory);
    const wasm = mem.wasmMemory!;
    expect(mem.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(mem.buffer).toBe(wasm.buffer);
    expect(() => wasm.grow(1)).toThrow(RangeError); // initial = maximum
    expect(wasm.buffer).toBe(mem.buffer);
    expect(mem.buffer.byteLength).toBe(2 * KIB_64);
  });

  it('GPA = wasm address: a module importing the memory sees what GuestMemory wrote, and the other way round', () => {
    const mem = new GuestMemory(4 * KIB_64);
    const guest = wasmGuest(mem.wasmMemory!);
    mem.writeU8(0x2_1234n, 0x5a);
    expect(guest.load(0x2_1234)).toBe(0x5a);
    guest.store(0x3_fffe, 0xa5);
    expect(mem.readU8(0x3_fffen)).toBe(0xa5);
    expect(mem.readU16(0x3_fffen)).toBe(0x00a5);
  });

  it('a GPA in the rounding slack is outside RAM, though a wasm guest reaches it: wasmGuestRamError asks for whole 64 KiB pages', () => {
    const mem = new GuestMemory(0x1000);
    expect(mem.size).toBe(0x1000);
    expect(mem.buffer.byteLength).toBe(KIB_64);
    const fault = catchGuestFault(() => mem.writeU8(0x1000n, 1), 'MEMORY');
    expect(fault.message).toBe('#MEMORY: access to GPA 0x1000 (+1 bytes) outside RAM (0x0..0xfff)');
    const guest = wasmGuest(mem.wasmMemory!);
    guest.store(0x1000, 7); // the slack: no fault for a wasm guest
    expect(new Uint8Array(mem.buffer)[0x1000]).toBe(7);
    expect(() => guest.load(KIB_64)).toThrow(/out of bounds/);
    expect(wasmGuestRamError(mem.size)).toMatch(/^RAM size 4096 cannot run a wasm guest/);
    expect(wasmGuestRamError(KIB_64)).toBeNull();
  });

  it('wraps an existing shared WebAssembly.Memory without copying it; size defaults to its buffer', () => {
    const wasm = new WA.Memory({ initial: 2, maximum: 2, shared: true });
    const whole = new GuestMemory(wasm);
    expect(whole.size).toBe(2 * KIB_64);
    expect(whole.wasmMemory).toBe(wasm);
    const part = new GuestMemory(wasm, 0x3000);
    expect(part.size).toBe(0x3000);
    expect(part.bytes.length).toBe(0x3000);
    expect(part.contains(0x2fffn, 1)).toBe(true);
    expect(part.contains(0x3000n, 1)).toBe(false);
    whole.writeU32(0x2ffcn, 0xdead_beef);
    expect(part.readU32(0x2ffcn)).toBe(0xdead_beef);
  });

  it('a SharedArrayBuffer with an explicit size: RAM is its first size bytes, no wasm memory', () => {
    const mem = new GuestMemory(new SharedArrayBuffer(KIB_64), 0x2000);
    expect(mem.size).toBe(0x2000);
    expect(mem.wasmMemory).toBeUndefined();
    expect(catchGuestFault(() => mem.readU8(0x2000n), 'MEMORY').gpa).toBe(0x2000n);
  });

  it.each<[string, () => unknown, RegExp]>([
    [
      'a memory that is not shared',
      () => new GuestMemory(new WA.Memory({ initial: 1, maximum: 1 })),
      /^guest memory needs a shared WebAssembly.Memory \(created with shared: true\)$/,
    ],
    [
      'a size past the buffer',
      () => new GuestMemory(new WA.Memory({ initial: 1, maximum: 1, shared: true }), 0x11000),
      /^guest memory size 69632 does not fit the 65536-byte buffer: use a size up to the buffer's length$/,
    ],
    [
      'a size that is not a page multiple',
      () => new GuestMemory(new SharedArrayBuffer(KIB_64), 0x1800),
      /^guest memory size 6144 is not accepted: use a multiple of 4096 bytes/,
    ],
    [
      'something that holds no memory',
      () => new GuestMemory(new ArrayBuffer(4096) as unknown as SharedArrayBuffer),
      /^guest memory needs a size, a SharedArrayBuffer or a shared WebAssembly.Memory; got \[object ArrayBuffer\]$/,
    ],
  ])('refuses %s by name', (_case, act, message) => {
    expect(act).toThrow(message);
  });

  it('a memory V8 cannot allocate is a RangeError naming the size', () => {
    class NoMemory {
      constructor() {
        throw new RangeError('WebAssembly.Memory(): could not allocate memory');
      }
    }
    vi.stubGlobal('WebAssembly', { Memory: NoMemory });
    try {
      expect(() => new GuestMemory(0x11000)).toThrow(
        /^guest RAM of 69632 bytes could not be allocated as a shared WebAssembly.Memory of 2 pages \(WebAssembly.Memory\(\): could not allocate memory\): each one reserves about 10 GiB of address space whatever its size; raise the address-space limit \(ulimit -v\) or keep fewer VMs alive$/,
      );
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('4 GiB, the RAM limit, is 65536 wasm pages: allocated and addressed to its last byte', () => {
    const mem = new GuestMemory(MAX_GUEST_MEMORY_BYTES);
    const last = BigInt(MAX_GUEST_MEMORY_BYTES - 1);
    expect(mem.buffer.byteLength).toBe(MAX_GUEST_MEMORY_BYTES);
    mem.writeU8(last, 0x42);
    expect(wasmGuest(mem.wasmMemory!).load(MAX_GUEST_MEMORY_BYTES - 1)).toBe(0x42);
    expect(catchGuestFault(() => mem.readU8(last + 1n), 'MEMORY').gpa).toBe(last + 1n);
  });
});

/** RAM sizes in 4 KiB pages: small ones (many not whole 64 KiB pages) and any up to 4 GiB. */
const ramPages = fc.oneof(
  fc.integer({ min: 1, max: 48 }),
  fc.integer({ min: 1, max: MAX_GUEST_MEMORY_BYTES / 4096 }),
);

describe('GuestMemory — 64 KiB rounding (properties)', () => {
  test.prop([ramPages], { numRuns: 120 })(
    'any 4 KiB-multiple size: the buffer is the 64 KiB round-up, size and the bounds stay the RAM size',
    (pages) => {
      const size = pages * 4096;
      const mem = new GuestMemory(size);
      const end = BigInt(size);
      expect(mem.buffer.byteLength).toBe(Math.ceil(size / KIB_64) * KIB_64);
      expect(wasmMemoryBytes(size)).toBe(mem.buffer.byteLength);
      expect([mem.size, mem.bytes.length, mem.view.byteLength]).toEqual([size, size, size]);
      // The last valid GPA, as before.
      expect(mem.contains(end - 8n, 8)).toBe(true);
      mem.writeU64(end - 8n, 0x0102_0304_0506_0708n);
      expect(mem.readU8(end - 1n)).toBe(0x01);
      // The first invalid GPA, and an access straddling the end: the same MEMORY faults as before.
      expect(mem.contains(end, 1)).toBe(false);
      const past = catchGuestFault(() => mem.writeU8(end, 0xff), 'MEMORY');
      expect(past.message).toBe(
        `#MEMORY: access to GPA 0x${size.toString(16)} (+1 bytes) outside RAM (0x0..0x${(size - 1).toString(16)})`,
      );
      expect(catchGuestFault(() => mem.fill(end - 4n, 8, 0xff), 'MEMORY').gpa).toBe(end - 4n);
      // Nothing reached the slack.
      expect(new Uint8Array(mem.buffer, size).every((b) => b === 0)).toBe(true);
    },
  );

  test.prop([ramPages], { numRuns: 300 })(
    'wasmGuestRamError accepts exactly the whole 64 KiB pages, and names the value otherwise',
    (pages) => {
      const size = pages * 4096;
      const error = wasmGuestRamError(size);
      expect(error === null).toBe(size % WASM_PAGE_SIZE === 0);
      if (error !== null) {
        expect(error).toBe(
          `RAM size ${size} cannot run a wasm guest: ${ACCEPTED} (the next one up is ${wasmMemoryBytes(size)})`,
        );
      }
    },
  );
});

describe('wasmGuestRamError — what a wasm guest accepts', () => {
  it.each<[string, number, string | null]>([
    ['one wasm page', KIB_64, null],
    ['16 MiB (the default RAM)', 16 * 1024 * 1024, null],
    ['4 GiB', MAX_GUEST_MEMORY_BYTES, null],
    ['one 4 KiB page', 4096, `RAM size 4096 cannot run a wasm guest: ${ACCEPTED} (the next one up is 65536)`],
    ['0', 0, `RAM size 0 cannot run a wasm guest: ${ACCEPTED}`],
    [
      'past 4 GiB',
      MAX_GUEST_MEMORY_BYTES + KIB_64,
      `RAM size 4295032832 cannot run a wasm guest: ${ACCEPTED}`,
    ],
    ['a fraction', 65536.5, `RAM size 65536.5 cannot run a wasm guest: ${ACCEPTED}`],
    ['NaN', Number.NaN, `RAM size NaN cannot run a wasm guest: ${ACCEPTED}`],
  ])('%s', (_case, size, expected) => {
    expect(wasmGuestRamError(size)).toBe(expected);
  });
});
