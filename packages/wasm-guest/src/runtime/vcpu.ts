/**
 * One vCPU's instance of the guest module over the VM's shared memory, with its own stack and
 * TLS from the memory map: wasm-ld's default layout gives every instance the same stack (and
 * only the first one TLS), which would silently corrupt memory. Every entry from JS resets the
 * stack pointer (an import that throws unwinds the wasm frames without restoring it) and turns a
 * fault or trap into a `GuestProgramFailure` naming the C function: the one place that catches.
 */
import type { WasmGuestMemoryMap } from '../wire/memory-map.js';
import type { VcpuContext } from './context.js';
import { guestFailure } from './failure.js';
import { importObject } from './import-object.js';
import { type WasmExports, type WasmGlobal, type WasmModule, wasmApi } from './wasm-api.js';

/** The memory import's place (module, name) in the guest module. */
export interface MemoryImportName {
  readonly module: string;
  readonly name: string;
}

export class WasmVcpu {
  /** The instance's exports: its C functions (`export_name`) and the linker's globals. */
  readonly exports: WasmExports;
  /** This vCPU's number. */
  readonly index: number;
  /** This vCPU's areas in the memory map (its TLS block and stack). */
  readonly areas: WasmGuestMemoryMap['vcpu'][number];
  readonly #ctx: VcpuContext;
  readonly #stackPointer: WasmGlobal;
  #running = false;

  constructor(module: WasmModule, memoryImport: MemoryImportName, ctx: VcpuContext) {
    const { index, map } = ctx.options;
    const areas = map.vcpu[index];
    if (areas === undefined)
      throw new RangeError(`vCPU ${index} is not in the memory map (${map.vcpus} vCPUs)`);
    this.index = index;
    this.areas = areas;
    this.#ctx = ctx;
    const memory = ctx.memory.wasmMemory;
    const imports: Record<string, Record<string, unknown>> = { pvlab: { ...importObject(ctx) } };
    imports[memoryImport.module] = { ...imports[memoryImport.module], [memoryImport.name]: memory };
    const instance = new (wasmApi().Instance)(module, imports);
    this.exports = instance.exports;
    this.#stackPointer = this.exports.__stack_pointer as WasmGlobal;
    // Before anything else runs in this instance: its own stack, then its own TLS block.
    this.#stackPointer.value = areas.stack.top;
    (this.exports.__wasm_init_tls as (tls: number) => void)(areas.tls.gpa);
    if (typeof this.exports.pvlab_init_vcpu === 'function') this.call('pvlab_init_vcpu');
  }

  /** `log` lines of a cpu without `log()` (the direct harness). */
  get logs(): readonly string[] {
    return this.#ctx.logs;
  }

  /** `report` values of a cpu without `report()` (the direct harness). */
  get reports(): ReadonlyMap<string, unknown> {
    return this.#ctx.reports;
  }

  /**
   * Calls the exported C function `name` on this vCPU (its stack pointer reset first). A guest
   * fault or a wasm trap throws a `GuestProgramFailure` naming the C function.
   */
  call(name: string, ...args: (number | bigint)[]): unknown {
    const fn = this.exports[name];
    if (typeof fn !== 'function') throw new TypeError(`the wasm guest exports no function '${name}'`);
    if (this.#running) {
      throw new Error(
        `vCPU ${this.index} is already running wasm: '${name}' cannot enter it again from an import`,
      );
    }
    this.#running = true;
    this.#stackPointer.value = this.areas.stack.top;
    try {
      return (fn as (...a: (number | bigint)[]) => unknown)(...args);
    } catch (e) {
      throw guestFailure(e);
    } finally {
      this.#running = false;
    }
  }

  /** Runs `pvlab_start` → `guest_main(cpu)`: returning = this vCPU's program passed. */
  start(): void {
    this.call('pvlab_start');
  }
}
