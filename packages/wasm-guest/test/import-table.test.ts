/**
 * The import table is the one source: the header in sdk/ is what it generates, the runtime's
 * import object has exactly its names, and the compiled SDK imports them with its types.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  IMPORTS_HEADER_PATH,
  renderImportsHeader,
  WASM_GUEST_ASYNCIFY_IMPORTS,
  WASM_GUEST_IMPORTS,
  WASM_GUEST_VCPU_INFO_BYTES,
} from '../src/index.ts';
import { readWasmBinary } from '../src/runtime/binary.ts';
import { VcpuContext } from '../src/runtime/context.ts';
import { importObject } from '../src/runtime/import-object.ts';
import { wasmGuestMemoryMap } from '../src/wire/memory-map.ts';
import { CLANG_MISSING, compileGuest } from './helpers/compile.ts';
import { FakeCpu, vmMemory } from './helpers/fake-cpu.ts';

const names = WASM_GUEST_IMPORTS.map((r) => r.name);

describe('the import table', () => {
  it(`generates ${IMPORTS_HEADER_PATH} exactly (run node scripts/gen-imports-h.mjs after a change)`, () => {
    const file = readFileSync(new URL(`../${IMPORTS_HEADER_PATH}`, import.meta.url), 'utf8');
    expect(file).toBe(renderImportsHeader());
  });

  it('declares each import once in the header, with its doc comment and raw name', () => {
    const header = renderImportsHeader();
    for (const row of WASM_GUEST_IMPORTS) {
      expect(header.split(`import_name("${row.name}")`)).toHaveLength(2);
      expect(header).toContain(`/** ${row.doc}`);
      expect(header).toContain(` __pvlab_import_${row.name}(`);
    }
    expect(header).toContain(
      `_Static_assert(sizeof(struct pvlab_vcpu_info) == ${WASM_GUEST_VCPU_INFO_BYTES}`,
    );
  });

  it('has unique names, i32/i64 types only, and lists the suspending ones for Asyncify', () => {
    expect(new Set(names).size).toBe(names.length);
    for (const row of WASM_GUEST_IMPORTS) {
      for (const p of row.params) expect(['i32', 'i64']).toContain(p.type);
    }
    expect(WASM_GUEST_ASYNCIFY_IMPORTS).toEqual(
      WASM_GUEST_IMPORTS.filter((r) => r.suspends).map((r) => `pvlab.${r.name}`),
    );
    // Every exit suspends; the per-vCPU bookkeeping and the clock do not.
    expect(WASM_GUEST_IMPORTS.filter((r) => !r.suspends).map((r) => r.name)).toEqual([
      'rdtsc',
      'take_interrupt',
      'irq_flag_at',
      'vcpu_info',
      'guest_arg',
      'fail',
    ]);
  });

  it("the runtime's import object has exactly the table's names, each a function", () => {
    const memory = vmMemory();
    const map = wasmGuestMemoryMap({ ramBytes: memory.size, vcpus: 1, imageBytes: 4096 });
    const ctx = new VcpuContext({
      cpu: new FakeCpu(),
      index: 0,
      vcpus: 1,
      memory,
      map,
      args: {},
      restored: false,
      arch: 'x64',
      imageEnd: 0x101000,
    });
    const object = importObject(ctx);
    expect(Object.keys(object).sort()).toEqual([...names].sort());
    expect(Object.values(object).every((f) => typeof f === 'function')).toBe(true);
  });
});

describe.skipIf(CLANG_MISSING !== undefined)(
  `a compiled guest against the table ${CLANG_MISSING ?? ''}`,
  () => {
    it("imports every function with the table's wasm type", () => {
      const binary = readWasmBinary(compileGuest('imports'));
      const functions = binary.imports.filter((i) => i.kind === 'function');
      expect(functions.map((i) => i.name).sort()).toEqual([...names].sort());
      for (const i of functions) {
        const row = WASM_GUEST_IMPORTS.find((r) => r.name === i.name)!;
        expect(i.type, i.name).toEqual({
          params: row.params.map((p) => p.type),
          results: row.result === null ? [] : [row.result],
        });
      }
    });
  },
);
