import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createVm, isGuestFault, restoreVm, runGuest, type VmSnapshot } from '../src/index.ts';

const guest = fileURLToPath(new URL('./guests/ram-edge.mjs', import.meta.url));

/** 16 MiB + 12 KiB: not a whole number of 64 KiB wasm pages, so the buffer has 52 KiB of slack. */
const RAM = 16 * 1024 * 1024 + 0x3000;
const BUFFER = 16 * 1024 * 1024 + 0x10000;
const PAST = `#MEMORY: access to GPA 0x${RAM.toString(16)} (+1 bytes) outside RAM (0x0..0x${(RAM - 1).toString(16)})`;

describe('RAM that is not a whole number of 64 KiB pages', () => {
  it('createVm: RAM is a shared WebAssembly.Memory rounded up; the configured size is the GPA limit', () => {
    const vm = createVm({ memoryBytes: RAM });
    expect([vm.ram.size, vm.memory.size, vm.ram.buffer.byteLength]).toEqual([RAM, RAM, BUFFER]);
    expect(vm.ram.wasmMemory?.buffer).toBe(vm.ram.buffer);
    expect(vm.memory.read(BigInt(RAM - 1), 1)).toEqual(Uint8Array.of(0));
    let fault: unknown;
    try {
      vm.memory.read(BigInt(RAM), 1);
    } catch (e) {
      fault = e;
    }
    expect(isGuestFault(fault, 'MEMORY') && fault.message).toBe(PAST);
  });

  it('a snapshot keeps the configured size and restores into the same RAM', () => {
    const vm = createVm({ memoryBytes: RAM });
    vm.ram.writeU8(BigInt(RAM - 1), 0x77);
    const saved = vm.save();
    const json = JSON.parse(JSON.stringify(saved)) as VmSnapshot;
    expect(json.parts.memory?.data).toEqual({
      bytes: RAM,
      pages: { [((RAM - 1) >> 12).toString(16)]: expect.any(String) },
    });
    const back = restoreVm(json);
    expect([back.ram.size, back.ram.buffer.byteLength]).toEqual([RAM, BUFFER]);
    expect(back.ram.readU8(BigInt(RAM - 1))).toBe(0x77);
    expect(back.save()).toEqual(saved);
  });

  it('vCPU threads get the VM memory itself and the configured size, not the buffer length', async () => {
    const vm = createVm({ vcpus: 2, memoryBytes: RAM });
    vm.ram.writeU8(BigInt(RAM - 1), 0x5a);
    const r = await runGuest(vm, { guest, seed: 1 });
    expect(r.failures).toEqual([]);
    const ram = { size: RAM, bufferBytes: BUFFER, wasmMemory: true, last: 0x5a, past: PAST };
    expect(r.reports).toEqual(
      [0, 1].map(() => ({ ram: { ...ram, isolationSize: null, isolationPast: null } })),
    );
  });

  it("an isolation VM's boundary view in a vCPU thread has the configured size", async () => {
    const vm = createVm({ vcpus: 1, memoryBytes: RAM, isolation: { sharedGpaBoundaryBits: 36 } });
    const r = await runGuest(vm, { guest });
    expect(r.failures).toEqual([]);
    expect(r.reports[0]).toMatchObject({
      ram: {
        size: RAM,
        isolationSize: RAM,
        isolationPast: expect.stringMatching(
          new RegExp(
            `^#MEMORY: access to GPA 0x${RAM.toString(16)} \\(\\+1 bytes\\) outside RAM \\(private 0x0\\.\\.0x${(RAM - 1).toString(16)},`,
          ),
        ),
      },
    });
  });
});
