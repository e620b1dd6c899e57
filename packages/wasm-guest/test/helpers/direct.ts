/** One guest on `vcpus` vCPUs of fresh 16 MiB RAM, each on its own cpu: the direct harness. */
import type { GuestMemory } from '@pvlab/hypercall';
import { loadWasmGuest, type WasmGuest, type WasmGuestCpu, type WasmVcpu } from '../../src/index.ts';
import type { WasmGuestMemoryMap } from '../../src/wire/memory-map.ts';
import { compileGuest } from './compile.ts';
import { vmMemory } from './fake-cpu.ts';

export interface Direct<C extends WasmGuestCpu> {
  readonly guest: WasmGuest;
  readonly memory: GuestMemory;
  readonly map: WasmGuestMemoryMap;
  readonly cpus: C[];
  readonly vcpus: WasmVcpu[];
}

export function direct<C extends WasmGuestCpu>(
  name: string,
  vcpus: number,
  makeCpu: (index: number, memory: GuestMemory) => C,
  options: { args?: Record<string, string>; memory?: GuestMemory } = {},
): Direct<C> {
  const guest = loadWasmGuest(compileGuest(name));
  const memory = options.memory ?? vmMemory();
  const map = guest.memoryMap({ ramBytes: memory.size, vcpus });
  const cpus = Array.from({ length: vcpus }, (_, i) => makeCpu(i, memory));
  const instances = cpus.map((cpu, index) =>
    guest.instantiate({ cpu, index, vcpus, memory, map, ...(options.args ? { args: options.args } : {}) }),
  );
  return { guest, memory, map, cpus, vcpus: instances };
}

/** The i64 a C function returned, unsigned. */
export const u64 = (v: unknown) => BigInt.asUintN(64, v as bigint);
