export {
  loadWasmGuest,
  MSR_SAFE_EIO,
  type WasmExports,
  type WasmGlobal,
  WasmGuest,
  type WasmGuestCpu,
  type WasmGuestInstantiateOptions,
  type WasmGuestLayout,
  WasmGuestLoadError,
  type WasmModule,
  WasmVcpu,
} from './runtime/index.js';
export {
  WASM_GUEST_ASYNCIFY_IMPORTS,
  WASM_GUEST_IMPORT_MODULE,
  WASM_GUEST_IMPORTS,
  WASM_GUEST_VCPU_INFO_BYTES,
  WASM_GUEST_VCPU_INFO_FIELDS,
  type WasmGuestImport,
  type WasmGuestImportFunctions,
  type WasmGuestImportName,
  type WasmGuestImportParam,
  type WasmValueType,
  wasmGuestImport,
} from './wire/imports.js';
export { IMPORTS_HEADER_PATH, renderImportsHeader } from './wire/imports-header.js';
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
