/**
 * Each vCPU's instance has its own stack and TLS at its map addresses: wasm-ld's default layout
 * (every instance on the linker's one stack, TLS never initialised per instance) corrupts memory
 * when vCPUs interleave, and the runtime's does not.
 */
import { describe, expect, it } from 'vitest';
import { loadWasmGuest, WASM_GUEST_IMAGE_BASE, type WasmVcpu } from '../src/index.ts';
import { VcpuContext } from '../src/runtime/context.ts';
import { importObject } from '../src/runtime/import-object.ts';
import { wasmApi } from '../src/runtime/wasm-api.ts';
import { CLANG_MISSING, compileGuest } from './helpers/compile.ts';
import { FakeProgramCpu, vmMemory } from './helpers/fake-cpu.ts';

const VCPUS = 5;

describe.skipIf(CLANG_MISSING !== undefined)(`per-vCPU stacks and TLS ${CLANG_MISSING ?? ''}`, () => {
  const guest = () => loadWasmGuest(compileGuest('spin'));

  /** VCPUS cpus whose pause() starts the next vCPU: all guest_main frames are live at once. */
  function chained(start: (cpus: FakeProgramCpu[], i: number) => void) {
    const memory = vmMemory();
    const cpus = Array.from({ length: VCPUS }, (_, i) => new FakeProgramCpu(i, VCPUS, memory));
    cpus.forEach((cpu, i) => {
      cpu.onPause = () => {
        if (i + 1 < VCPUS) start(cpus, i + 1);
      };
    });
    return { memory, cpus };
  }

  it('keeps every vCPU its own stack array and _Thread_local data while all of them run interleaved', () => {
    const g = guest();
    const instances: WasmVcpu[] = [];
    const { memory, cpus } = chained((_, i) => instances[i]!.start());
    const map = g.memoryMap({ ramBytes: memory.size, vcpus: VCPUS });
    for (const cpu of cpus) {
      instances.push(g.instantiate({ cpu, index: cpu.index, vcpus: VCPUS, memory, map }));
    }
    instances[0]!.start();
    for (const cpu of cpus) {
      expect(cpu.reports.get('stack_bad'), `vCPU ${cpu.index}`).toBe(0);
      expect(cpu.reports.get('tls_bad'), `vCPU ${cpu.index}`).toBe(0);
      expect(cpu.reports.get('tls_word'), `vCPU ${cpu.index}`).toBe(0x1000 + cpu.index);
    }
  });

  it("corrupts them with wasm-ld's default layout (the same guest, instances made without the runtime's setup)", () => {
    const g = guest();
    const raw: { pvlab_start: () => void }[] = [];
    const { memory, cpus } = chained((_, i) => raw[i]!.pvlab_start());
    const map = g.memoryMap({ ramBytes: memory.size, vcpus: VCPUS });
    for (const cpu of cpus) {
      const ctx = new VcpuContext({
        cpu,
        index: cpu.index,
        vcpus: VCPUS,
        memory,
        map,
        args: {},
        restored: false,
        arch: 'x64',
        imageEnd: WASM_GUEST_IMAGE_BASE + g.layout.imageBytes,
      });
      const instance = new (wasmApi().Instance)(g.module, {
        env: { memory: memory.wasmMemory },
        pvlab: { ...importObject(ctx) },
      });
      raw.push(instance.exports as unknown as { pvlab_start: () => void });
    }
    raw[0]!.pvlab_start();
    const corrupted = cpus.filter(
      (cpu) =>
        cpu.reports.get('stack_bad') !== 0 ||
        cpu.reports.get('tls_bad') !== 0 ||
        cpu.reports.get('tls_word') !== 0x1000 + cpu.index,
    );
    // All of them share the linker's one 4 KiB stack, which each 8 KiB array overruns into the
    // image's data: even the report keys (string literals) come back overwritten.
    expect(corrupted.map((c) => c.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it("puts each instance's TLS block and stack at its map addresses", () => {
    const g = guest();
    const memory = vmMemory();
    const map = g.memoryMap({ ramBytes: memory.size, vcpus: VCPUS });
    const offsets = new Set<number>();
    for (let i = 0; i < VCPUS; i++) {
      const v = g.instantiate({
        cpu: new FakeProgramCpu(i, VCPUS, memory),
        index: i,
        vcpus: VCPUS,
        memory,
        map,
      });
      const { tls, stack } = map.vcpu[i]!;
      const word = v.call('tls_word_ptr') as number;
      expect(word).toBeGreaterThanOrEqual(tls.gpa);
      expect(word + 4).toBeLessThanOrEqual(tls.gpa + g.layout.tlsBytes);
      offsets.add(word - tls.gpa);
      // The TLS initialiser (.tdata) was copied into this vCPU's block.
      expect(memory.view.getUint32(word, true)).toBe(0x5eed);
      const local = v.call('stack_addr') as number;
      expect(local).toBeGreaterThanOrEqual(stack.gpa);
      expect(local).toBeLessThan(stack.top);
    }
    expect(offsets.size).toBe(1);
  });

  it('keeps TLS per vCPU across calls made from JS in alternation', () => {
    const g = guest();
    const memory = vmMemory();
    const map = g.memoryMap({ ramBytes: memory.size, vcpus: VCPUS });
    const vcpus = Array.from({ length: VCPUS }, (_, i) =>
      g.instantiate({ cpu: new FakeProgramCpu(i, VCPUS, memory), index: i, vcpus: VCPUS, memory, map }),
    );
    for (let round = 0; round < 3; round++) {
      for (const v of vcpus) v.call('tls_set', round * 100 + v.index);
      for (const v of vcpus) expect(v.call('tls_get')).toBe(round * 100 + v.index);
    }
  });
});
