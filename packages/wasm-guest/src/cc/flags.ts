/**
 * The flags pvlab-cc pins (WASM-ABI.md "Build flags"): every guest module is built with them, so
 * the runtime can rely on the layout they give.
 */

/** The one target: guest RAM is an imported 32-bit shared memory. */
export const TARGET = '--target=wasm32';

/** Defaults a user flag may override (a later `-O`/`-g` wins in clang). */
export const COMPILE_DEFAULTS: readonly string[] = [
  '-O2',
  // DWARF for debuggers; wasm-ld writes the name section (which names the C function in a
  // fault) either way.
  '-g',
];

/** Compile flags the ABI needs; they come after the user's flags so none is overridden. */
export const COMPILE_PINNED: readonly string[] = [
  '-nostdlib',
  '-ffreestanding', // no C library: the SDK is the guest's whole runtime
  '-matomics', // the memory is shared between the vCPUs' instances
  '-mbulk-memory', // wasm-ld's __wasm_init_memory needs memory.init / data.drop
  '-mmutable-globals', // __stack_pointer is exported and set per instance
  '-msign-ext',
  '-fno-exceptions',
];

/** The image starts at 1 MiB: the low MiB is the guest's own pages (the memory map). */
export const GLOBAL_BASE = 1048576;
/** 4 GiB: wasm32's whole address space, so any RAM size up to pvlab's limit fits. */
export const MAX_MEMORY_BYTES = 4294967296;

/** Linker flags, passed to wasm-ld after the objects and the user's linker flags. */
export const LINK_PINNED: readonly string[] = [
  '--import-memory', // guest RAM is the VM's memory, created by the host
  '--shared-memory',
  `--max-memory=${MAX_MEMORY_BYTES}`,
  `--global-base=${GLOBAL_BASE}`,
  // wasm-ld's own stack sits in the image; no vCPU runs on it (each has its own in the map).
  '-z',
  'stack-size=4096',
  // The runtime sets each instance's stack pointer and TLS block, and reads the image size.
  '--export=__stack_pointer',
  '--export=__wasm_init_tls',
  '--export=__tls_size',
  '--export=__tls_align',
  '--export=__heap_base',
  '--export=__data_end',
  '--export=pvlab_start', // the SDK's entry (crt.c), called once per vCPU
  '--no-entry',
];
