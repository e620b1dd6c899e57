/**
 * A `.wasm` guest loaded once by the host before any vCPU thread starts: read, checked against
 * the import table, compiled, and its memory map made for this VM, so a guest that does not
 * load or does not fit the VM is refused at once (a load failure) instead of by every thread.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadWasmGuest } from '@pvlab/wasm-guest';
import { WASM_GUEST } from '../guest-module.js';
import type { Vm } from '../vm.js';
import type { CompiledWasmGuest } from './vcpu-worker.js';

/** The compiled guest for the vCPU threads, or why it cannot run on this VM. */
export type WasmGuestLoad = { readonly compiled: CompiledWasmGuest } | { readonly refused: string };

/** Loads the guest at `url` when it is a `.wasm` guest; undefined for JavaScript guests. */
export function loadWasmGuestFor(vm: Vm, url: string): WasmGuestLoad | undefined {
  if (!WASM_GUEST.test(url)) return undefined;
  try {
    const guest = loadWasmGuest(readFileSync(fileURLToPath(url)));
    guest.vmMemoryMap({ ramBytes: vm.ram.size, vcpus: vm.vcpus, arch: vm.options.arch });
    return { compiled: { module: guest.module, layout: guest.layout } };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    return { refused: `cannot load the guest program: ${error.name}: ${error.message}` };
  }
}
