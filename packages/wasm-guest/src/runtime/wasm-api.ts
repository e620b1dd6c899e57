/**
 * The little of the WebAssembly JS API the runtime uses. TypeScript's ES libs have no WebAssembly
 * types (they come with the DOM lib, which a published .d.ts must not need), so they are declared
 * here; the objects are the real ones, read from `globalThis` at each use.
 */

/** A compiled module (`WebAssembly.Module`), opaque to the API. */
export interface WasmModule {
  readonly [Symbol.toStringTag]: string;
}

/** A `WebAssembly.Global`. */
export interface WasmGlobal {
  value: number | bigint;
}

/** What a guest instance exports: functions and globals by name. */
export type WasmExports = Readonly<Record<string, unknown>>;

export interface WasmInstance {
  readonly exports: WasmExports;
}

interface WebAssemblyApi {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): { module: string; name: string; kind: string }[];
    exports(module: WasmModule): { name: string; kind: string }[];
  };
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  RuntimeError: new (...args: never[]) => Error;
  CompileError: new (...args: never[]) => Error;
  LinkError: new (...args: never[]) => Error;
}

export function wasmApi(): WebAssemblyApi {
  return (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
}

export function isWasmModule(value: unknown): value is WasmModule {
  return value instanceof wasmApi().Module;
}

/** `true` for a wasm trap (`WebAssembly.RuntimeError`): out of bounds, unreachable, … */
export function isWasmTrap(e: unknown): e is Error {
  return e instanceof wasmApi().RuntimeError;
}
