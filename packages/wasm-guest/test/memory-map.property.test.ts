import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import {
  ASYNCIFY_HEADER_BYTES,
  WASM_GUEST_DEFAULT_SAVE_AREA_BYTES,
  WASM_GUEST_DEFAULT_STACK_BYTES,
  WASM_GUEST_DEFAULT_TLS_BYTES,
  WASM_GUEST_IMAGE_BASE,
  WasmGuestMapError,
  type WasmGuestMemoryMapOptions,
  type WasmGuestRegion,
  wasmGuestMemoryMap,
} from '../src/index.ts';

const KIB = 1024;
const MIB = 1024 * KIB;
const PAGE = 4096;
const up = (n: number) => Math.ceil(n / PAGE) * PAGE;

/** RAM up to 4 GiB in 64 KiB pages, vCPUs 1..4096, and sizes around the defaults (or left out). */
const options: fc.Arbitrary<WasmGuestMemoryMapOptions> = fc.record(
  {
    ramBytes: fc
      .oneof(
        fc.integer({ min: 1, max: 65536 }),
        fc.integer({ min: 1, max: 1024 }), // small RAMs, where refusals happen
      )
      .map((pages) => pages * 64 * KIB),
    vcpus: fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 64 })),
    imageBytes: fc.integer({ min: 0, max: 64 * MIB }),
    tlsBytes: fc.integer({ min: 0, max: 64 * KIB }),
    stackBytes: fc.integer({ min: 16, max: 256 * KIB }),
    saveAreaBytes: fc.integer({ min: ASYNCIFY_HEADER_BYTES + 1, max: 64 * KIB }),
    reservedTopBytes: fc.integer({ min: 0, max: MIB }),
  },
  { requiredKeys: ['ramBytes', 'vcpus', 'imageBytes'] },
);

/** What the map must hold, summed from the options alone: every area rounded up to 4 KiB. */
function bytesNeeded(o: WasmGuestMemoryMapOptions): number {
  const perVcpu =
    up(o.tlsBytes ?? WASM_GUEST_DEFAULT_TLS_BYTES) +
    up(o.stackBytes ?? WASM_GUEST_DEFAULT_STACK_BYTES) +
    up(o.saveAreaBytes ?? WASM_GUEST_DEFAULT_SAVE_AREA_BYTES);
  return WASM_GUEST_IMAGE_BASE + up(o.imageBytes) + o.vcpus * perVcpu + up(o.reservedTopBytes ?? 0);
}

function attempt(o: WasmGuestMemoryMapOptions) {
  try {
    return wasmGuestMemoryMap(o);
  } catch (e) {
    if (e instanceof WasmGuestMapError) return e;
    throw e;
  }
}

test.prop([options], { numRuns: 200 })('it refuses exactly when the regions would not fit', (o) => {
  const result = attempt(o);
  expect(result instanceof WasmGuestMapError).toBe(bytesNeeded(o) > o.ramBytes);
});

test.prop([options], { numRuns: 200 })(
  'a map is disjoint, ordered, 4 KiB-aligned regions tiling RAM, every vCPU with its three areas',
  (o) => {
    const map = attempt(o);
    fc.pre(!(map instanceof WasmGuestMapError));
    expect(map.vcpu).toHaveLength(o.vcpus);
    expect(map.image.gpa).toBe(WASM_GUEST_IMAGE_BASE);
    expect(map.image.bytes).toBeGreaterThanOrEqual(o.imageBytes);
    expect(map.reservedTop.bytes).toBeGreaterThanOrEqual(o.reservedTopBytes ?? 0);
    // Plain checks collected as named problems: one expect per vCPU area would make 4096 vCPUs slow.
    const problems: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok) problems.push(what);
    };
    const regions: [string, WasmGuestRegion][] = [
      ['lowRam', map.lowRam],
      ['image', map.image],
    ];
    map.vcpu.forEach((v, cpu) => {
      check(v.cpu === cpu, `vcpu[${cpu}].cpu ${v.cpu}`);
      check(v.tls.bytes >= (o.tlsBytes ?? WASM_GUEST_DEFAULT_TLS_BYTES), `vcpu[${cpu}].tls too small`);
      check(
        v.stack.bytes >= (o.stackBytes ?? WASM_GUEST_DEFAULT_STACK_BYTES),
        `vcpu[${cpu}].stack too small`,
      );
      check(
        v.saveArea.bytes >= (o.saveAreaBytes ?? WASM_GUEST_DEFAULT_SAVE_AREA_BYTES),
        `vcpu[${cpu}].saveArea too small`,
      );
      check(v.stack.top === v.stack.gpa + v.stack.bytes && v.stack.top % 16 === 0, `vcpu[${cpu}].stack.top`);
      check(v.saveArea.bufferStart === v.saveArea.gpa + ASYNCIFY_HEADER_BYTES, `vcpu[${cpu}].bufferStart`);
      check(v.saveArea.bufferEnd === v.saveArea.gpa + v.saveArea.bytes, `vcpu[${cpu}].bufferEnd`);
      regions.push(
        [`vcpu[${cpu}].tls`, v.tls],
        [`vcpu[${cpu}].saveArea`, v.saveArea],
        [`vcpu[${cpu}].stack`, v.stack],
      );
    });
    regions.push(['pages', map.pages], ['reservedTop', map.reservedTop]);
    // Each region starts where the one before it ends: ordered, disjoint, no gap, from 0 to RAM's end.
    let end = 0;
    for (const [name, r] of regions) {
      check(r.gpa === end, `${name} starts at ${r.gpa}, not ${end}`);
      check(r.gpa % PAGE === 0 && r.bytes % PAGE === 0 && r.bytes >= 0, `${name} not 4 KiB-aligned`);
      end = r.gpa + r.bytes;
    }
    check(end === o.ramBytes, `regions end at ${end}, not at RAM's end ${o.ramBytes}`);
    expect(problems).toEqual([]);
    expect(map.vcpuBlocks).toEqual({ gpa: map.vcpu[0]!.tls.gpa, bytes: o.vcpus * map.vcpuStride });
  },
);

test.prop([options], { numRuns: 200 })(
  'a refusal names the vCPUs, the RAM and the least RAM that fits, which does fit',
  (o) => {
    const e = attempt(o);
    fc.pre(e instanceof WasmGuestMapError);
    const refusal = e as WasmGuestMapError;
    expect(refusal.message).not.toContain('\n');
    expect(refusal.message).toContain(`a wasm guest on ${o.vcpus} vCPU`);
    expect(refusal.message).toContain(`${refusal.minRamBytes} bytes`);
    expect(refusal.message).toMatch(/ (MiB|KiB|bytes) of RAM holds /);
    const min = refusal.minRamBytes!;
    expect(min % (64 * KIB)).toBe(0);
    expect(attempt({ ...o, ramBytes: min - 64 * KIB })).toBeInstanceOf(WasmGuestMapError);
    if (min <= 4096 * MIB) expect(attempt({ ...o, ramBytes: min })).not.toBeInstanceOf(WasmGuestMapError);
  },
);
