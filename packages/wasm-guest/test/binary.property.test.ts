/**
 * The binary reader never throws anything but WasmGuestLoadError, whatever the bytes: random
 * bytes, every prefix of a real guest, and a real guest with bytes flipped; loadWasmGuest (which
 * also compiles) likewise.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { loadWasmGuest, WasmGuestLoadError } from '../src/index.ts';
import { readWasmBinary } from '../src/runtime/binary.ts';
import { CLANG_MISSING, compileGuest } from './helpers/compile.ts';

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/** Runs `f`; any exception but a WasmGuestLoadError fails the property. */
function onlyLoadErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof WasmGuestLoadError)) throw e;
    expect(e.message).not.toContain('\n');
  }
}

describe('the binary reader on any bytes', () => {
  test.prop([fc.uint8Array({ maxLength: 512 })])('random bytes', (bytes) => {
    onlyLoadErrors(() => readWasmBinary(bytes));
    onlyLoadErrors(() => loadWasmGuest(bytes));
  });

  test.prop([fc.uint8Array({ maxLength: 256 })])('random sections after a valid header', (rest) => {
    const bytes = new Uint8Array([...HEADER, ...rest]);
    onlyLoadErrors(() => readWasmBinary(bytes));
    onlyLoadErrors(() => loadWasmGuest(bytes));
  });
});

describe.skipIf(CLANG_MISSING !== undefined)(
  `the binary reader on a real guest, damaged ${CLANG_MISSING ?? ''}`,
  () => {
    const real = CLANG_MISSING === undefined ? compileGuest('program') : new Uint8Array();

    test.prop([fc.nat()])('every truncation', (n) => {
      const bytes = real.subarray(0, n % real.length);
      onlyLoadErrors(() => readWasmBinary(bytes));
      onlyLoadErrors(() => loadWasmGuest(bytes));
    });

    test.prop([
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
    ])('bytes overwritten', (edits) => {
      const bytes = real.slice();
      for (const [at, value] of edits) bytes[at % bytes.length] = value;
      onlyLoadErrors(() => readWasmBinary(bytes));
      onlyLoadErrors(() => loadWasmGuest(bytes));
    });
  },
);
