import { wasmGuestRamError } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { WASM_GUEST_PAGE_BYTES, WasmGuestMapError, wasmGuestMemoryMap } from '../src/index.ts';

const KIB = 1024;
const MIB = 1024 * KIB;
/** host-emulator's default `memoryBytes` (apps/host-emulator/src/options.ts). */
const DEFAULT_RAM = 16 * MIB;

function refusal(run: () => unknown): WasmGuestMapError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(WasmGuestMapError);
    expect((e as Error).name).toBe('WasmGuestMapError');
    expect((e as Error).message).not.toContain('\n');
    return e as WasmGuestMapError;
  }
  throw new Error('expected a WasmGuestMapError');
}

describe('the default map (16 MiB of RAM, a 1 MiB image)', () => {
  it('1 vCPU: low RAM, image, TLS, save area, stack, then pages to the end of RAM', () => {
    const map = wasmGuestMemoryMap({ ramBytes: DEFAULT_RAM, vcpus: 1, imageBytes: MIB });
    expect(map).toEqual({
      ramBytes: 0x100_0000,
      vcpus: 1,
      lowRam: { gpa: 0, bytes: 0x10_0000 },
      image: { gpa: 0x10_0000, bytes: 0x10_0000 },
      vcpuBlocks: { gpa: 0x20_0000, bytes: 0x7000 },
      vcpuStride: 0x7000,
      vcpu: [
        {
          cpu: 0,
          tls: { gpa: 0x20_0000, bytes: 0x1000 },
          saveArea: { gpa: 0x20_1000, bytes: 0x2000, bufferStart: 0x20_1008, bufferEnd: 0x20_3000 },
          stack: { gpa: 0x20_3000, bytes: 0x4000, top: 0x20_7000 },
        },
      ],
      pages: { gpa: 0x20_7000, bytes: 0x100_0000 - 0x20_7000 },
      reservedTop: { gpa: 0x100_0000, bytes: 0 },
    });
  });

  it('256 vCPUs fit in 28 KiB each and leave 7 MiB (1792 pages) to the page allocator', () => {
    const map = wasmGuestMemoryMap({ ramBytes: DEFAULT_RAM, vcpus: 256, imageBytes: MIB });
    expect(map.vcpu).toHaveLength(256);
    expect(map.vcpuStride).toBe(28 * KIB);
    expect(map.vcpuBlocks).toEqual({ gpa: 0x20_0000, bytes: 0x70_0000 });
    expect(map.vcpu[1]).toEqual({
      cpu: 1,
      tls: { gpa: 0x20_7000, bytes: 0x1000 },
      saveArea: { gpa: 0x20_8000, bytes: 0x2000, bufferStart: 0x20_8008, bufferEnd: 0x20_a000 },
      stack: { gpa: 0x20_a000, bytes: 0x4000, top: 0x20_e000 },
    });
    expect(map.vcpu[255]).toEqual({
      cpu: 255,
      tls: { gpa: 0x8f_9000, bytes: 0x1000 },
      saveArea: { gpa: 0x8f_a000, bytes: 0x2000, bufferStart: 0x8f_a008, bufferEnd: 0x8f_c000 },
      stack: { gpa: 0x8f_c000, bytes: 0x4000, top: 0x90_0000 },
    });
    expect(map.pages).toEqual({ gpa: 0x90_0000, bytes: 7 * MIB });
    expect(map.pages.bytes / WASM_GUEST_PAGE_BYTES).toBe(1792);
  });

  it('is plain data: a JSON round trip gives it back', () => {
    const map = wasmGuestMemoryMap({ ramBytes: DEFAULT_RAM, vcpus: 256, imageBytes: MIB });
    expect(JSON.parse(JSON.stringify(map))).toEqual(map);
  });

  it('arm64 keeps its stolen-time records in the top 64 KiB, out of the page allocator', () => {
    const map = wasmGuestMemoryMap({
      ramBytes: DEFAULT_RAM,
      vcpus: 4,
      imageBytes: 300_000,
      reservedTopBytes: 64 * KIB,
    });
    expect(map.image).toEqual({ gpa: 0x10_0000, bytes: 0x4_a000 }); // 300,000 rounded up to 4 KiB
    expect(map.reservedTop).toEqual({ gpa: 0xff_0000, bytes: 0x1_0000 });
    expect(map.pages.gpa + map.pages.bytes).toBe(0xff_0000);
  });

  it('sizes round up to 4 KiB and the stack top stays 16-byte aligned', () => {
    const map = wasmGuestMemoryMap({
      ramBytes: DEFAULT_RAM,
      vcpus: 2,
      imageBytes: 1,
      tlsBytes: 40,
      stackBytes: 5000,
      saveAreaBytes: 4097,
    });
    expect(map.vcpuStride).toBe(0x1000 + 0x2000 + 0x2000);
    expect(map.vcpu[1]!.stack).toEqual({ gpa: 0x10_9000, bytes: 0x2000, top: 0x10_b000 });
  });
});

describe('refusals: one line naming the values and what is accepted', () => {
  it('512 vCPUs fill 16 MiB exactly; 513 are refused with the RAM they need', () => {
    const full = wasmGuestMemoryMap({ ramBytes: DEFAULT_RAM, vcpus: 512, imageBytes: MIB });
    expect(full.pages).toEqual({ gpa: DEFAULT_RAM, bytes: 0 });
    const e = refusal(() => wasmGuestMemoryMap({ ramBytes: DEFAULT_RAM, vcpus: 513, imageBytes: MIB }));
    expect(e.message).toBe(
      'a wasm guest on 513 vCPUs needs at least 16448 KiB of RAM (16842752 bytes: 1 MiB low RAM, 1 MiB image, 513 × 28 KiB per vCPU): 16 MiB of RAM holds at most 512 vCPUs with this image',
    );
    expect(e.minRamBytes).toBe(16448 * KIB);
    expect(() => wasmGuestMemoryMap({ ramBytes: e.minRamBytes!, vcpus: 513, imageBytes: MIB })).not.toThrow();
  });

  it("pvlab-host's 4096 vCPUs need 114 MiB with the defaults", () => {
    const e = refusal(() => wasmGuestMemoryMap({ ramBytes: 113 * MIB, vcpus: 4096, imageBytes: MIB }));
    expect(e.minRamBytes).toBe(114 * MIB);
    expect(wasmGuestMemoryMap({ ramBytes: 114 * MIB, vcpus: 4096, imageBytes: MIB }).pages.bytes).toBe(0);
  });

  it('a RAM too small for even one vCPU says so, and names the reserved top', () => {
    const e = refusal(() =>
      wasmGuestMemoryMap({ ramBytes: MIB, vcpus: 1, imageBytes: 0, reservedTopBytes: 64 * KIB }),
    );
    expect(e.message).toBe(
      'a wasm guest on 1 vCPU needs at least 1152 KiB of RAM (1179648 bytes: 1 MiB low RAM, 0 bytes image, 1 × 28 KiB per vCPU, 64 KiB reserved at the top): 1 MiB of RAM holds not even one vCPU with this image',
    );
  });

  it('a RAM size wasmGuestRamError refuses is refused with its message', () => {
    for (const ramBytes of [16 * MIB + 4 * KIB, 0, 8 * 1024 * MIB, 1.5]) {
      const e = refusal(() => wasmGuestMemoryMap({ ramBytes, vcpus: 1, imageBytes: 0 }));
      expect(e.message).toBe(wasmGuestRamError(ramBytes));
      expect(e.minRamBytes).toBeUndefined();
    }
  });

  it.each([
    ['vcpus', { vcpus: 0 }, 'vcpus 0 is not accepted: use a whole number from 1 to 1048576'],
    ['vcpus', { vcpus: 2.5 }, 'vcpus 2.5 is not accepted: use a whole number from 1 to 1048576'],
    [
      'imageBytes',
      { imageBytes: -1 },
      'imageBytes -1 is not accepted: use a whole number from 0 to 4294967296',
    ],
    [
      'stackBytes',
      { stackBytes: 8 },
      'stackBytes 8 is not accepted: use a whole number from 16 to 4294967296',
    ],
    [
      'saveAreaBytes',
      { saveAreaBytes: 8 },
      'saveAreaBytes 8 is not accepted: use a whole number from 9 to 4294967296',
    ],
    [
      'tlsBytes',
      { tlsBytes: Number.NaN },
      'tlsBytes NaN is not accepted: use a whole number from 0 to 4294967296',
    ],
    [
      'reservedTopBytes',
      { reservedTopBytes: 2 ** 33 },
      'reservedTopBytes 8589934592 is not accepted: use a whole number from 0 to 4294967296',
    ],
  ])('%s out of range', (_name, override, message) => {
    const e = refusal(() =>
      wasmGuestMemoryMap({ ramBytes: DEFAULT_RAM, vcpus: 1, imageBytes: MIB, ...override }),
    );
    expect(e.message).toBe(message);
  });
});
