/**
 * What `WebAssembly.Module.imports` does not tell in Node 20 — the memory import's limits and
 * shared flag, exported globals' initial values — read by the runtime's own binary reader, and
 * the data segments' size.
 */
import { readWasmBinary } from '../src/runtime/binary.ts';

export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  readonly initialPages: number;
  readonly maximumPages: number | undefined;
  readonly shared: boolean;
}

export interface ModuleFacts {
  readonly memoryImports: MemoryImport[];
  /** Exported i32 globals with a constant initial value, by export name. */
  readonly globals: Map<string, number>;
  /** Total bytes of all data segments. */
  readonly dataBytes: number;
}

/** Imports and globals as the runtime reads them (`readWasmBinary`), plus the data segments' size. */
export function readModuleFacts(bytes: Uint8Array): ModuleFacts {
  const binary = readWasmBinary(bytes);
  const memoryImports = binary.imports.flatMap((i) =>
    i.memory === undefined
      ? []
      : [
          {
            module: i.module,
            name: i.name,
            initialPages: i.memory.minPages,
            maximumPages: i.memory.maxPages,
            shared: i.memory.shared,
          },
        ],
  );
  const globals = new Map<string, number>();
  for (const [name, e] of binary.exports) {
    const value = e.kind === 'global' ? binary.globals[e.index] : undefined;
    if (typeof value === 'number') globals.set(name, value >>> 0);
  }
  return { memoryImports, globals, dataBytes: dataSegmentBytes(bytes) };
}

/** The data section's segments, summed (the one section `readWasmBinary` does not read). */
function dataSegmentBytes(bytes: Uint8Array): number {
  let at = 8; // magic and version
  const u = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++]!;
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) return result;
    }
  };
  let total = 0;
  while (at < bytes.length) {
    const id = bytes[at++]!;
    const end = u() + at;
    if (id === 11) {
      for (let n = u(); n > 0; n--) {
        const flags = u();
        if (flags === 2) u(); // memory index
        if (flags !== 1) while (bytes[at++] !== 0x0b); // the offset expression
        const len = u();
        total += len;
        at += len;
      }
    }
    at = end;
  }
  return total;
}

/** The WebAssembly JS API as these tests use it (TypeScript's ES libs do not declare it). */
interface WasmModuleApi {
  new (bytes: Uint8Array): object;
  imports(m: object): { module: string; name: string; kind: string }[];
  exports(m: object): { name: string; kind: string }[];
  customSections(m: object, name: string): ArrayBuffer[];
}
const WasmModule = (globalThis as unknown as { WebAssembly: { Module: WasmModuleApi } }).WebAssembly.Module;

/** Compiles `bytes` (throws when they are not a valid module) and lists what the JS API tells. */
export function inspectModule(bytes: Uint8Array) {
  const m = new WasmModule(bytes);
  return {
    imports: WasmModule.imports(m),
    exports: WasmModule.exports(m).map((e) => e.name),
    customSections: (name: string) => WasmModule.customSections(m, name),
  };
}
