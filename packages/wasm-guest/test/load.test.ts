/**
 * loadWasmGuest and the map refuse, by name, what the runtime cannot run: imports outside the
 * table (or with another type), missing exports, a memory that is not shared, TLS larger than a
 * vCPU's block, an image that does not fit RAM, RAM that is not whole 64 KiB pages.
 */
import { GuestMemory } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { loadWasmGuest, WasmGuestLoadError, WasmGuestMapError } from '../src/index.ts';
import { readWasmBinary } from '../src/runtime/binary.ts';
import { CLANG_MISSING, compileGuest } from './helpers/compile.ts';
import { FakeCpu, FakeProgramCpu, vmMemory } from './helpers/fake-cpu.ts';

const MIB = 1 << 20;
const guestOf = (name: string, source: string, extra: string[] = []) =>
  compileGuest(name, { source: `#include "exports.h"\n${source}`, extra });

function loadError(bytes: Uint8Array): string {
  try {
    loadWasmGuest(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(WasmGuestLoadError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a WasmGuestLoadError');
}

/** A hand-made module: the header, then an import section importing env.memory with `limits` bytes. */
function memoryOnlyModule(limits: number[]): Uint8Array {
  const name = (s: string) => [s.length, ...new TextEncoder().encode(s)];
  const entry = [...name('env'), ...name('memory'), 0x02, ...limits];
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x02, entry.length + 1, 1, ...entry]);
}

describe.skipIf(CLANG_MISSING !== undefined)(`refusals by name ${CLANG_MISSING ?? ''}`, () => {
  it('an import the table does not have, by module and name', () => {
    const undefinedFn = guestOf(
      'undefined-fn',
      'extern int mystery(int);\nvoid guest_main(int c) { mystery(c); }',
      ['-Wl,--allow-undefined'],
    );
    expect(loadError(undefinedFn)).toMatch(
      /^the wasm guest imports env\.mystery \(a function\), which the runtime does not provide/,
    );
    const unknown = guestOf(
      'unknown-import',
      '__attribute__((import_module("pvlab"), import_name("teleport"))) void teleport(void);\nvoid guest_main(int c) { (void)c; teleport(); }',
    );
    expect(loadError(unknown)).toMatch(/^the wasm guest imports pvlab\.teleport \(a function\)/);
  });

  it('an import of the table with another wasm type', () => {
    const bytes = guestOf(
      'wrong-type',
      '__attribute__((import_module("pvlab"), import_name("rdtsc"))) int32_t bad(int32_t);\nvoid guest_main(int c) { bad(c); }',
    );
    expect(loadError(bytes)).toBe(
      "the wasm guest imports pvlab.rdtsc as (i32) -> i32, but the import table says () -> i64: rebuild it with this SDK's <pvlab/imports.h>",
    );
  });

  it('a missing export the runtime calls', () => {
    const bytes = compileGuest('program', { dropExport: '__tls_size' });
    expect(loadError(bytes)).toMatch(
      /^the wasm guest does not export the global __tls_size: -Wl,--export=__tls_size/,
    );
  });

  it('a memory that is not shared, or no memory', () => {
    expect(loadError(memoryOnlyModule([0x00, 0x11]))).toMatch(
      /^the wasm guest's memory env\.memory is not shared/,
    );
    expect(loadError(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))).toMatch(
      /^the wasm guest imports 0 memories/,
    );
    expect(loadError(new Uint8Array([1, 2, 3]))).toMatch(/^not a readable wasm module: /);
  });

  it('__tls_size larger than the TLS block', () => {
    const bytes = guestOf(
      'big-tls',
      '_Thread_local volatile char big[5000];\nvoid guest_main(int c) { big[c] = 1; }',
    );
    expect(loadError(bytes)).toMatch(
      /^__tls_size 50\d\d is not accepted: a vCPU's TLS block holds 4096 bytes/,
    );
  });

  it('an image that does not fit the RAM, in the map and in program()', () => {
    const bytes = guestOf(
      'big-image',
      'static volatile char big[20 << 20];\nvoid guest_main(int c) { big[c] = 1; }',
    );
    const guest = loadWasmGuest(bytes);
    expect(guest.layout.imageBytes).toBeGreaterThan(20 * MIB);
    expect(() => guest.memoryMap({ ramBytes: 16 * MIB, vcpus: 2 })).toThrow(WasmGuestMapError);
    expect(() => guest.memoryMap({ ramBytes: 16 * MIB, vcpus: 2 })).toThrow(/needs at least 2\d+ KiB of RAM/);
    expect(guest.memoryMap({ ramBytes: 32 * MIB, vcpus: 2 }).image.bytes).toBeGreaterThan(20 * MIB);
    const memory = vmMemory(16 * MIB);
    expect(() => guest.program()(new FakeProgramCpu(0, 2, memory))).toThrow(WasmGuestMapError);
  });

  it('RAM that is not whole 64 KiB pages (wasmGuestRamError), and RAM that is not a WebAssembly.Memory', () => {
    const guest = loadWasmGuest(compileGuest('program'));
    const odd = 16 * MIB + 4096;
    expect(() => guest.memoryMap({ ramBytes: odd, vcpus: 1 })).toThrow(
      `RAM size ${odd} cannot run a wasm guest: use a multiple of 65536 bytes`,
    );
    expect(() => guest.program()(new FakeProgramCpu(0, 1, new GuestMemory(odd)))).toThrow(WasmGuestMapError);
    const plain = new GuestMemory(new SharedArrayBuffer(16 * MIB));
    const map = guest.memoryMap({ ramBytes: plain.size, vcpus: 1 });
    expect(() => guest.instantiate({ cpu: new FakeCpu(), index: 0, vcpus: 1, memory: plain, map })).toThrow(
      /guest RAM is a plain SharedArrayBuffer/,
    );
  });
});

describe.skipIf(CLANG_MISSING !== undefined)(`loading ${CLANG_MISSING ?? ''}`, () => {
  it('reads __heap_base and __tls_size from the bytes, without instantiating', () => {
    const bytes = compileGuest('spin');
    const guest = loadWasmGuest(bytes);
    const binary = readWasmBinary(bytes);
    const heapBase = binary.globals[binary.exports.get('__heap_base')!.index] as number;
    expect(guest.layout.imageBytes).toBe(heapBase - MIB);
    // spin.c's TLS: a u32 and 256 bytes, and crt.c's info, pending word and enabled flag.
    expect(guest.layout.tlsBytes).toBeGreaterThanOrEqual(4 + 256 + 32 + 8);
    expect(guest.layout.tlsBytes).toBeLessThan(4096);
  });

  it('takes a compiled module with the layout its bytes gave, and refuses one without', () => {
    const first = loadWasmGuest(compileGuest('program'));
    const again = loadWasmGuest(first.module, first.layout);
    const memory = vmMemory();
    const cpu = new FakeProgramCpu(0, 1, memory, { mode: 'x' });
    again.program()(cpu);
    expect(cpu.logs).toEqual(["vCPU 0 of 1: mode 'x'"]);
    expect(() => loadWasmGuest(first.module)).toThrow(WasmGuestLoadError);
    expect(() => loadWasmGuest(first.module, { ...first.layout, tlsBytes: 8192 })).toThrow(/__tls_size 8192/);
  });
});
