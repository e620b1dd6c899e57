export type { WasmGuestLayout } from './checks.js';
export type { WasmGuestCpu } from './context.js';
export { WasmGuestLoadError } from './errors.js';
export { loadWasmGuest, WasmGuest, type WasmGuestInstantiateOptions } from './guest.js';
export { MSR_SAFE_EIO } from './import-object.js';
export { WasmVcpu } from './vcpu.js';
export type { WasmExports, WasmGlobal, WasmModule } from './wasm-api.js';
