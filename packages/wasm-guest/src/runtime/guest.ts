/**
 * A loaded wasm guest: the compiled module and what its bytes say about it (image size, TLS
 * size), checked against the import table. It places itself in guest RAM (`memoryMap`), makes a
 * vCPU instance (`instantiate`, the direct harness) or a `GuestProgram` for vCPU threads.
 */
import type { GuestMemory } from '@pvlab/hypercall';
import type { GuestProgram, GuestProgramCpu } from '@pvlab/hypercall/guest';
import {
  WASM_GUEST_IMAGE_BASE,
  WasmGuestMapError,
  type WasmGuestMemoryMap,
  wasmGuestMemoryMap,
} from '../wire/memory-map.js';
import { checkGuestBinary, checkGuestModule, checkLayout, type WasmGuestLayout } from './checks.js';
import { VcpuContext, type WasmGuestCpu } from './context.js';
import { WasmGuestLoadError } from './errors.js';
import { WasmVcpu } from './vcpu.js';
import { isWasmModule, type WasmModule, wasmApi } from './wasm-api.js';

/** arm64 keeps its PV stolen-time records in whole 64 KiB pages at the top of RAM (64 bytes per vCPU). */
const ARM64_STOLEN_TIME_ALIGN = 64 * 1024;
const STOLEN_TIME_RECORD_BYTES = 64;

export interface WasmGuestInstantiateOptions {
  /** The vCPU: a createVm VP (`VirtualProcessor`), a `GuestProgramCpu`, or a test's own. */
  readonly cpu: WasmGuestCpu;
  readonly index: number;
  readonly vcpus: number;
  /** Guest RAM: its `wasmMemory` is the memory every instance imports. */
  readonly memory: GuestMemory;
  /** From `memoryMap` for this RAM and vCPU count. */
  readonly map: WasmGuestMemoryMap;
  /** `--guest-arg` values (default none). */
  readonly args?: Readonly<Record<string, string>>;
  /** The VM was restored from a snapshot (default false). */
  readonly restored?: boolean;
  /** Default `'x64'`. */
  readonly arch?: 'x64' | 'arm64';
}

export class WasmGuest {
  /** The compiled module (post it to worker threads with `layout` to load it there without its bytes). */
  readonly module: WasmModule;
  /** What the module's bytes say: its image and TLS sizes. */
  readonly layout: WasmGuestLayout;
  readonly #memoryImport: { module: string; name: string };

  constructor(module: WasmModule, layout: WasmGuestLayout, memoryImport: { module: string; name: string }) {
    this.module = module;
    this.layout = layout;
    this.#memoryImport = memoryImport;
  }

  /** This guest's memory map in `ramBytes` of RAM on `vcpus` vCPUs (a `WasmGuestMapError` when it does not fit). */
  memoryMap(options: { ramBytes: number; vcpus: number; reservedTopBytes?: number }): WasmGuestMemoryMap {
    return wasmGuestMemoryMap({ ...options, imageBytes: this.layout.imageBytes });
  }

  /**
   * The map `program()` uses on a VM with `ramBytes` of RAM and `vcpus` vCPUs: on arm64 the top of
   * RAM holding the stolen-time records stays out of the page allocator. A host calls it before
   * starting vCPU threads to refuse a VM the guest does not fit (`WasmGuestMapError`).
   */
  vmMemoryMap(vm: { ramBytes: number; vcpus: number; arch: 'x64' | 'arm64' }): WasmGuestMemoryMap {
    const reservedTopBytes =
      vm.arch === 'arm64'
        ? Math.ceil((vm.vcpus * STOLEN_TIME_RECORD_BYTES) / ARM64_STOLEN_TIME_ALIGN) * ARM64_STOLEN_TIME_ALIGN
        : 0;
    return this.memoryMap({ ramBytes: vm.ramBytes, vcpus: vm.vcpus, reservedTopBytes });
  }

  /** This guest on one vCPU: its own instance, stack and TLS over `memory`. */
  instantiate(options: WasmGuestInstantiateOptions): WasmVcpu {
    const { memory, map, index, vcpus } = options;
    if (memory.wasmMemory === undefined) {
      throw new WasmGuestMapError(
        'guest RAM is a plain SharedArrayBuffer: a wasm guest needs RAM allocated as a shared WebAssembly.Memory (new GuestMemory(size))',
      );
    }
    if (map.ramBytes !== memory.size || map.vcpus !== vcpus || map.image.bytes < this.layout.imageBytes) {
      throw new WasmGuestMapError(
        `the memory map (${map.ramBytes} bytes of RAM, ${map.vcpus} vCPUs, ${map.image.bytes}-byte image) is not this guest's on this VM (${memory.size} bytes, ${vcpus} vCPUs, ${this.layout.imageBytes}-byte image): make it with guest.memoryMap()`,
      );
    }
    if (!Number.isInteger(index) || index < 0 || index >= vcpus) {
      throw new RangeError(`vCPU index ${index} is not accepted: use 0 to ${vcpus - 1}`);
    }
    const ctx = new VcpuContext({
      cpu: options.cpu,
      index,
      vcpus,
      memory,
      map,
      args: options.args ?? {},
      restored: options.restored ?? false,
      arch: options.arch ?? 'x64',
      imageEnd: WASM_GUEST_IMAGE_BASE + this.layout.imageBytes,
    });
    try {
      return new WasmVcpu(this.module, this.#memoryImport, ctx);
    } catch (e) {
      if (e instanceof wasmApi().LinkError)
        throw new WasmGuestLoadError(`the wasm guest cannot be instantiated: ${(e as Error).message}`, {
          cause: e,
        });
      throw e;
    }
  }

  /**
   * A `GuestProgram` for vCPU threads: on each vCPU, an instance over `cpu.memory` with the map
   * for the VM's RAM and vCPU count, then `pvlab_start` → `guest_main(cpu)`. On arm64 the top of
   * RAM holding the stolen-time records stays out of the page allocator.
   */
  program(): GuestProgram {
    return (cpu: GuestProgramCpu) => {
      const map = this.vmMemoryMap({ ramBytes: cpu.memory.size, vcpus: cpu.vcpus, arch: cpu.arch });
      const vcpu = this.instantiate({
        cpu,
        index: cpu.index,
        vcpus: cpu.vcpus,
        memory: cpu.memory,
        map,
        args: cpu.args,
        restored: cpu.restored,
        arch: cpu.arch,
      });
      vcpu.start();
    };
  }
}

/**
 * Loads a guest module: from its bytes (read, checked against the import table, compiled), or
 * from a compiled `WebAssembly.Module` with the `layout` its bytes gave (`guest.layout`). Refused
 * with a one-line `WasmGuestLoadError` naming the import, export or size.
 */
export function loadWasmGuest(
  source: Uint8Array | ArrayBuffer | WasmModule,
  layout?: WasmGuestLayout,
): WasmGuest {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    const { layout: read, memoryImport } = checkGuestBinary(bytes);
    let module: WasmModule;
    try {
      module = new (wasmApi().Module)(bytes);
    } catch (e) {
      throw new WasmGuestLoadError(`the wasm guest does not compile: ${(e as Error).message}`, { cause: e });
    }
    return new WasmGuest(module, read, memoryImport);
  }
  if (!isWasmModule(source)) {
    throw new TypeError(
      `loadWasmGuest takes the module's bytes or a WebAssembly.Module; got ${Object.prototype.toString.call(source)}`,
    );
  }
  if (layout === undefined) {
    throw new WasmGuestLoadError(
      'a compiled WebAssembly.Module has no readable global section: pass its bytes, or the layout its bytes gave (guest.layout)',
    );
  }
  const memoryImport = checkGuestModule(source);
  return new WasmGuest(source, checkLayout(layout), memoryImport);
}
