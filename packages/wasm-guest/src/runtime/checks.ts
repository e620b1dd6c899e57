/**
 * What the runtime requires of a guest module, checked before it is compiled or instantiated:
 * function imports only from the table (with its types), one shared memory import, the exports
 * the runtime calls, an image above the first MiB and TLS that fits a vCPU's block. Each refusal
 * is one line naming the import, export or value and what is accepted.
 */
import { WASM_GUEST_IMPORT_MODULE, wasmGuestImport } from '../wire/imports.js';
import { WASM_GUEST_DEFAULT_TLS_BYTES, WASM_GUEST_IMAGE_BASE } from '../wire/memory-map.js';
import { readWasmBinary, type WasmBinary, type WasmBinaryImport } from './binary.js';
import { WasmGuestLoadError } from './errors.js';
import { type WasmModule, wasmApi } from './wasm-api.js';

/** What a guest module's bytes say about its place in guest RAM. */
export interface WasmGuestLayout {
  /** `__heap_base` − 1 MiB: data, bss and the linker's own stack. */
  readonly imageBytes: number;
  /** `__tls_size`: each vCPU's TLS data. */
  readonly tlsBytes: number;
  /** `__tls_align`. */
  readonly tlsAlign: number;
}

const FLAGS = 'pvlab-cc links with the right flags';

/** Exports the runtime calls, and what makes the linker export them. */
const REQUIRED_EXPORTS: readonly { name: string; kind: string; flag: string }[] = [
  { name: '__stack_pointer', kind: 'global', flag: '-Wl,--export=__stack_pointer' },
  { name: '__wasm_init_tls', kind: 'function', flag: '-Wl,--export=__wasm_init_tls' },
  { name: '__tls_size', kind: 'global', flag: '-Wl,--export=__tls_size' },
  { name: '__heap_base', kind: 'global', flag: '-Wl,--export=__heap_base' },
  { name: 'pvlab_start', kind: 'function', flag: "the SDK's crt.c" },
];

const signature = (params: readonly string[], result: readonly string[]) =>
  `(${params.join(', ')}) -> ${result.length === 0 ? '()' : result.join(', ')}`;

/** Checks one import by name and kind (and a function's type when known). */
function checkImport(i: Pick<WasmBinaryImport, 'module' | 'name' | 'kind' | 'type'>): void {
  const what = `${i.module}.${i.name}`;
  if (i.kind === 'memory') return;
  const row =
    i.module === WASM_GUEST_IMPORT_MODULE && i.kind === 'function' ? wasmGuestImport(i.name) : undefined;
  if (row === undefined) {
    throw new WasmGuestLoadError(
      `the wasm guest imports ${what} (a ${i.kind}), which the runtime does not provide: a guest imports only the ${WASM_GUEST_IMPORT_MODULE}.* functions of the import table and its memory (is a C function left undefined?)`,
    );
  }
  if (i.type === undefined) return;
  const want = signature(
    row.params.map((p) => p.type),
    row.result === null ? [] : [row.result],
  );
  const got = signature(i.type.params, i.type.results);
  if (got !== want) {
    throw new WasmGuestLoadError(
      `the wasm guest imports ${what} as ${got}, but the import table says ${want}: rebuild it with this SDK's <pvlab/imports.h>`,
    );
  }
}

function checkMemoryCount(count: number): void {
  if (count !== 1) {
    throw new WasmGuestLoadError(
      `the wasm guest imports ${count} memories: it must import exactly one, the VM's shared guest RAM (-Wl,--import-memory,--shared-memory; ${FLAGS})`,
    );
  }
}

/** A defined global's constant value as an unsigned 32-bit number, or a refusal naming it. */
function globalValue(binary: WasmBinary, name: string): number {
  const exported = binary.exports.get(name);
  const value = exported === undefined ? undefined : binary.globals[exported.index];
  if (typeof value !== 'number') {
    throw new WasmGuestLoadError(`the wasm guest's ${name} is not a constant i32 global: ${FLAGS}`);
  }
  return value >>> 0;
}

/** The layout's sizes, or a refusal naming the one not accepted. */
export function checkLayout(layout: WasmGuestLayout): WasmGuestLayout {
  const { imageBytes, tlsBytes, tlsAlign } = layout;
  if (!Number.isSafeInteger(imageBytes) || imageBytes < 0) {
    throw new WasmGuestLoadError(
      `__heap_base ${WASM_GUEST_IMAGE_BASE + imageBytes} is not accepted: the image is linked above the first MiB (-Wl,--global-base=1048576; ${FLAGS})`,
    );
  }
  if (!Number.isSafeInteger(tlsBytes) || tlsBytes < 0 || tlsBytes > WASM_GUEST_DEFAULT_TLS_BYTES) {
    throw new WasmGuestLoadError(
      `__tls_size ${tlsBytes} is not accepted: a vCPU's TLS block holds ${WASM_GUEST_DEFAULT_TLS_BYTES} bytes (keep larger per-CPU data in pages from pvlab_alloc_pages)`,
    );
  }
  if (
    !Number.isSafeInteger(tlsAlign) ||
    tlsAlign < 1 ||
    tlsAlign > WASM_GUEST_DEFAULT_TLS_BYTES ||
    (tlsAlign & (tlsAlign - 1)) !== 0
  ) {
    throw new WasmGuestLoadError(
      `__tls_align ${tlsAlign} is not accepted: use a power of two up to ${WASM_GUEST_DEFAULT_TLS_BYTES} (the TLS block's alignment)`,
    );
  }
  return layout;
}

/** A guest module's bytes checked: its layout and where it imports memory. */
export function checkGuestBinary(bytes: Uint8Array): {
  layout: WasmGuestLayout;
  memoryImport: { module: string; name: string };
} {
  const binary = readWasmBinary(bytes);
  for (const i of binary.imports) checkImport(i);
  const memories = binary.imports.filter((i) => i.kind === 'memory');
  checkMemoryCount(memories.length);
  const memory = memories[0]!;
  if (!memory.memory?.shared) {
    throw new WasmGuestLoadError(
      `the wasm guest's memory ${memory.module}.${memory.name} is not shared: link with -Wl,--shared-memory (${FLAGS})`,
    );
  }
  for (const e of REQUIRED_EXPORTS) {
    if (binary.exports.get(e.name)?.kind !== e.kind) {
      throw new WasmGuestLoadError(
        `the wasm guest does not export the ${e.kind} ${e.name}: ${e.flag} (${FLAGS})`,
      );
    }
  }
  const heapBase = globalValue(binary, '__heap_base');
  const tlsAlign = binary.exports.has('__tls_align') ? globalValue(binary, '__tls_align') : 1;
  const layout = checkLayout({
    imageBytes: heapBase - WASM_GUEST_IMAGE_BASE,
    tlsBytes: globalValue(binary, '__tls_size'),
    tlsAlign,
  });
  return { layout, memoryImport: { module: memory.module, name: memory.name } };
}

/** A compiled module checked by its import and export names (its types and globals are not readable). */
export function checkGuestModule(module: WasmModule): { module: string; name: string } {
  const api = wasmApi();
  const imports = api.Module.imports(module);
  for (const i of imports)
    checkImport({ module: i.module, name: i.name, kind: i.kind as WasmBinaryImport['kind'] });
  const memories = imports.filter((i) => i.kind === 'memory');
  checkMemoryCount(memories.length);
  const exports = new Map(api.Module.exports(module).map((e) => [e.name, e.kind]));
  for (const e of REQUIRED_EXPORTS) {
    if (exports.get(e.name) !== e.kind) {
      throw new WasmGuestLoadError(
        `the wasm guest does not export the ${e.kind} ${e.name}: ${e.flag} (${FLAGS})`,
      );
    }
  }
  return { module: memories[0]!.module, name: memories[0]!.name };
}
