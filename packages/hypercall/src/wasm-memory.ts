/**
 * Guest RAM as a shared WebAssembly memory, so that a wasm guest's linear memory is guest
 * physical memory (GPA = wasm address). TypeScript's ES libs have no WebAssembly types (they
 * come with the DOM lib): the little this package needs is declared here, and any
 * `WebAssembly.Memory` fits it.
 */

/** Wasm linear memory comes in 64 KiB pages. */
export const WASM_PAGE_SIZE = 64 * 1024;

/** The largest RAM a wasm guest can address: 65536 pages of 64 KiB, wasm32's 4 GiB. */
export const WASM32_MAX_BYTES = 65536 * WASM_PAGE_SIZE;

/** A `WebAssembly.Memory` as guest RAM uses it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

interface WasmMemoryConstructor {
  new (descriptor: { initial: number; maximum: number; shared: boolean }): WasmMemory;
}

/** Read at each call, not at import: a test may stub `WebAssembly`. */
function wasmMemoryClass(): WasmMemoryConstructor {
  return (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly.Memory;
}

/** `true` when `value` is a `WebAssembly.Memory`. */
export function isWasmMemory(value: unknown): value is WasmMemory {
  return value instanceof wasmMemoryClass();
}

/** The bytes of wasm memory that hold `ramBytes` of RAM: whole 64 KiB pages. */
export function wasmMemoryBytes(ramBytes: number): number {
  return Math.ceil(ramBytes / WASM_PAGE_SIZE) * WASM_PAGE_SIZE;
}

/**
 * A shared `WebAssembly.Memory` of `ramBytes` rounded up to 64 KiB pages, with initial = maximum
 * so it never grows and its buffer stays the same object. V8 reserves 10 GiB of address space for
 * each (x64 Linux, whatever the size: ~13,000 alive at once in a 128 TiB address space; it
 * collects unreachable ones when it runs short); when it cannot, a RangeError naming the size.
 */
export function allocateSharedWasmMemory(ramBytes: number): WasmMemory {
  const pages = wasmMemoryBytes(ramBytes) / WASM_PAGE_SIZE;
  try {
    return new (wasmMemoryClass())({ initial: pages, maximum: pages, shared: true });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new RangeError(
      `guest RAM of ${ramBytes} bytes could not be allocated as a shared WebAssembly.Memory of ${pages} pages (${why}): each one reserves about 10 GiB of address space whatever its size; raise the address-space limit (ulimit -v) or keep fewer VMs alive`,
      { cause: e },
    );
  }
}

/**
 * Why `size` bytes of RAM cannot run a wasm guest, as one line naming the value and what is
 * accepted; `null` when it can. A wasm guest's loads and stores are bounded by the memory's
 * buffer, not by the RAM size: only a size that is a whole number of 64 KiB pages leaves no
 * slack past the end of RAM that the guest could reach without a `MEMORY` fault.
 */
export function wasmGuestRamError(size: number): string | null {
  if (
    Number.isSafeInteger(size) &&
    size >= WASM_PAGE_SIZE &&
    size <= WASM32_MAX_BYTES &&
    size % WASM_PAGE_SIZE === 0
  ) {
    return null;
  }
  const nearest =
    Number.isSafeInteger(size) && size > 0 && size < WASM32_MAX_BYTES
      ? ` (the next one up is ${wasmMemoryBytes(size)})`
      : '';
  return `RAM size ${size} cannot run a wasm guest: use a multiple of ${WASM_PAGE_SIZE} bytes (the 64 KiB wasm page) from ${WASM_PAGE_SIZE} to ${WASM32_MAX_BYTES}${nearest}`;
}
