export type { WasmGuestLayout } from './checks.js';
export type { WasmGuestCpu } from './context.js';
export { WasmGuestLoadError } from './errors.js';
export { WasmGuest, type WasmGuestInstantiateOptions, loadWasmGuest } from './guest.js';
export { MSR_SAFE_EIO } from './import-object.js';
export type { WasmExports, WasmGlobal, WasmModule } from './wasm-api.js';
export { WasmVcpu } from './vcpu.js';
