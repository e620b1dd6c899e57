export {
  ASYNCIFY_HEADER_BYTES,
  WASM_GUEST_DEFAULT_SAVE_AREA_BYTES,
  WASM_GUEST_DEFAULT_STACK_BYTES,
  WASM_GUEST_DEFAULT_TLS_BYTES,
  WASM_GUEST_IMAGE_BASE,
  WASM_GUEST_MAX_VCPUS,
  WasmGuestMapError,
  type WasmGuestMemoryMap,
  type WasmGuestMemoryMapOptions,
  type WasmGuestRegion,
  type WasmGuestVcpuAreas,
  wasmGuestMemoryMap,
} from './wire/memory-map.js';
export { WASM_GUEST_PAGE_BYTES } from './wire/sizes.js';
