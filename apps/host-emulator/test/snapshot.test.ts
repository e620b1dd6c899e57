import {
  decodeHypercallResult,
  encodeHypercallControl,
  HV_X64_MSR_HYPERCALL,
  HvCallCode,
  HvStatus,
} from '@pvlab/hypercall';
import { enableTestHypercalls, HYPERCALL_PAGE_GPA, INPUT_GPA } from '@pvlab/hypercall/testing';
import { describe, expect, it, vi } from 'vitest';
import { createVm, restoreVm, SnapshotError, Vm, type VmSnapshot } from '../src/index.ts';

const FLUSH_ALL = HvCallCode.HvCallFlushVirtualAddressSpace;
const HV_FLUSH_ALL_PROCESSORS = 1n;

/** A workload in small steps whose effects all live in the VM: memory, MSRs, TLBs, IRRs. */
function step(vm: Vm, i: number): void {
  const vp = vm.vp(i % vm.vcpus);
  if (i === 0) {
    enableTestHypercalls(vp);
    return;
  }
  // Guest data: a counter page the "kernel" bumps.
  const counter = vm.ram.view.getUint32(0x8000, true);
  vm.ram.view.setUint32(0x8000, counter + i, true);
  vm.memory.write(BigInt(0x10000 + i * 64), new Uint8Array(8).fill(i & 0xff));
  vp.tlb.fill(BigInt(i) << 12n, 0x40000n + (BigInt(i) << 12n), { addressSpace: BigInt(i % 3) });
  if (i % 5 === 0) vm.partition.deliverInterrupt((i + 1) % vm.vcpus, 0x30 + (i % 16));
  if (i % 7 === 0) {
    // Flush address space (i % 3) on every processor: the TLBs of all VPs change.
    vm.ram.view.setBigUint64(Number(INPUT_GPA), BigInt(i % 3), true);
    vm.ram.view.setBigUint64(Number(INPUT_GPA) + 8, 0n, true);
    vm.ram.view.setBigUint64(Number(INPUT_GPA) + 16, HV_FLUSH_ALL_PROCESSORS, true);
    vm.ram.view.setBigUint64(Number(INPUT_GPA) + 24, 0n, true);
    const r = vp.hypercall(encodeHypercallControl({ callCode: FLUSH_ALL }), INPUT_GPA, 0n);
    expect(decodeHypercallResult(r).status).toBe(HvStatus.SUCCESS);
  }
}

const STEPS = 40;
const options = { vcpus: 3, memoryBytes: 1024 * 1024 } as const;

function runFrom(vm: Vm, from: number, to: number): Vm {
  for (let i = from; i < to; i++) step(vm, i);
  return vm;
}

/** A snapshot through JSON text, as a file would carry it. */
function viaJson(snapshot: VmSnapshot): unknown {
  return JSON.parse(JSON.stringify(snapshot));
}

describe('vm.save / restoreVm', () => {
  it('saving mid-workload and finishing in a fresh VM gives the same VM as an uninterrupted run', () => {
    const uninterrupted = runFrom(createVm(options), 0, STEPS);
    for (const cut of [1, 7, 23, STEPS - 1]) {
      const first = runFrom(createVm(options), 0, cut);
      const snapshot = viaJson(first.save());
      first.close();
      const resumed = runFrom(restoreVm(snapshot), cut, STEPS);
      expect(resumed.save()).toEqual(uninterrupted.save());
      expect(Buffer.compare(resumed.ram.bytes, uninterrupted.ram.bytes)).toBe(0);
      for (let vp = 0; vp < options.vcpus; vp++) {
        expect(resumed.vp(vp).tlb.entries()).toEqual(uninterrupted.vp(vp).tlb.entries());
        expect(resumed.partition.interrupts.peek(vp)).toEqual(uninterrupted.partition.interrupts.peek(vp));
      }
      resumed.close();
    }
    uninterrupted.close();
  });

  it('names every part, each with its own version, and restores the options', () => {
    const vm = runFrom(createVm(options), 0, 12);
    const snapshot = vm.save();
    expect(snapshot.format).toBe('pvlab-vm-snapshot');
    expect(Object.keys(snapshot.parts)).toEqual([
      'memory',
      'hypercall',
      'tlb-ipi',
      'vtl',
      'vmbus-ring',
      'vcpu/0',
      'vcpu/1',
      'vcpu/2',
    ]);
    for (const part of Object.values(snapshot.parts)) expect(part.version).toBe(1);
    expect(snapshot.parts.hypercall?.data).toEqual({
      guestOsId: '0x8100000000000000',
      hypercallMsr: '0x1001',
    });
    const restored = restoreVm(viaJson(snapshot));
    expect(restored.options).toEqual(vm.options);
    expect(restored.vp(0).readMsr(HV_X64_MSR_HYPERCALL)).toBe(HYPERCALL_PAGE_GPA | 1n);
    vm.close();
    restored.close();
  });

  it('saves only the pages that are not zero', () => {
    const vm = createVm({ memoryBytes: 16 * 1024 * 1024 });
    vm.memory.write(0x5000n, Uint8Array.of(1, 2, 3));
    const data = vm.save().parts.memory?.data as { pages: Record<string, string> };
    expect(Object.keys(data.pages)).toEqual(['5']);
    vm.close();
  });

  it('starts fresh a part an older snapshot lacks', () => {
    const vm = runFrom(createVm(options), 0, 10);
    const snapshot = viaJson(vm.save()) as VmSnapshot;
    const { 'vcpu/2': _dropped, ...older } = snapshot.parts;
    const restored = restoreVm({ ...snapshot, parts: older });
    expect(restored.vp(2).tlb.size).toBe(0);
    expect(restored.vp(1).tlb.size).toBe(vm.vp(1).tlb.size);
    vm.close();
    restored.close();
  });

  const broken: [string, (s: VmSnapshot) => unknown, RegExp][] = [
    ['not a snapshot', () => ({ hello: 1 }), /snapshot format: expected format 'pvlab-vm-snapshot'/],
    [
      'a newer envelope',
      (s) => ({ ...s, formatVersion: 2 }),
      /formatVersion: this host reads snapshot format version 1/,
    ],
    [
      'an unknown part',
      (s) => ({ ...s, parts: { ...s.parts, 'no-such-package': { version: 1, data: {} } } }),
      /snapshot part 'no-such-package' not known to this host \(it knows 'memory', 'hypercall', .*'vcpu\/2'\)/,
    ],
    [
      'a part version this host cannot read',
      (s) => ({ ...s, parts: { ...s.parts, hypercall: { version: 7, data: s.parts.hypercall!.data } } }),
      /snapshot part 'hypercall' has format version 7; this host reads version 1/,
    ],
    [
      'a bad 64-bit value',
      (s) => ({
        ...s,
        parts: { ...s.parts, hypercall: { version: 1, data: { guestOsId: 12, hypercallMsr: '0x0' } } },
      }),
      /hypercall.guestOsId = 12: expected a 64-bit hex string/,
    ],
    [
      'memory of another size',
      (s) => ({ ...s, parts: { ...s.parts, memory: { version: 1, data: { bytes: 8192, pages: {} } } } }),
      /memory.bytes = 8192: this VM has 1048576 bytes/,
    ],
    [
      'a page outside RAM',
      (s) => ({
        ...s,
        parts: { ...s.parts, memory: { version: 1, data: { bytes: 1048576, pages: { '100': '' } } } },
      }),
      /memory.pages\["100"\]: not a page number of this VM/,
    ],
    [
      'a vector out of range',
      (s) => ({
        ...s,
        parts: {
          ...s.parts,
          'vcpu/0': { version: 1, data: { ...(s.parts['vcpu/0']!.data as object), pendingVectors: [256] } },
        },
      }),
      /vcpu\/0.pendingVectors: expected an array of vectors 0..255/,
    ],
    ['bad options', (s) => ({ ...s, options: { ...s.options, vcpus: 0 } }), /snapshot options.vcpus = 0/],
  ];
  it.each(broken)('refuses %s with a message naming it', (_what, mutate, message) => {
    const vm = runFrom(createVm(options), 0, 10);
    const snapshot = viaJson(vm.save()) as VmSnapshot;
    expect(() => restoreVm(mutate(snapshot))).toThrow(message);
    vm.close();
  });

  it('keeps every refusal to one line of at most 300 characters, however long what it names', () => {
    const vm = createVm(options);
    const snapshot = viaJson(vm.save()) as VmSnapshot;
    vm.close();
    const refusal = (value: unknown): string => {
      try {
        restoreVm(value);
      } catch (e) {
        expect(e).toBeInstanceOf(SnapshotError);
        const message = (e as Error).message;
        expect(message).not.toMatch(/\n/);
        expect(message.length).toBeLessThanOrEqual(300);
        return message;
      }
      throw new Error('restoreVm accepted it');
    };
    const many = Object.fromEntries(
      Array.from({ length: 4099 }, (_, i) => [`p${i}`, { version: 1, data: {} }]),
    );
    expect(refusal({ ...snapshot, parts: { ...snapshot.parts, ...many } })).toMatch(
      /^snapshot parts 'p0', 'p1', 'p2' and 4,096 more not known to this host \(it knows 'memory', /,
    );
    const long = 'x'.repeat(100_000);
    expect(refusal({ ...snapshot, options: { ...snapshot.options, vendor: long } })).toMatch(
      /^snapshot options\.vendor = 'x{30,40}…: /,
    );
    expect(refusal({ ...snapshot, parts: { ...snapshot.parts, [long]: { version: 1, data: {} } } })).toMatch(
      /^snapshot part 'x{40}…' not known/,
    );
    expect(refusal({ ...snapshot, savedAt: 'now' })).toBe("snapshot: unknown field 'savedAt'");
    const hypercall = snapshot.parts.hypercall!;
    expect(
      refusal({
        ...snapshot,
        parts: {
          ...snapshot.parts,
          hypercall: { ...hypercall, data: { ...(hypercall.data as object), extra: 1 } },
        },
      }),
    ).toBe("hypercall: unknown field 'extra' (it has guestOsId, hypercallMsr)");
    // JSON.parse keeps an own __proto__ key; the snapshot names it instead of dropping it.
    const text = JSON.stringify(snapshot);
    expect(
      refusal(JSON.parse(text.replace('"parts":{', '"parts":{"__proto__":{"version":1,"data":{}},'))),
    ).toBe("snapshot parts: the key '__proto__' is not accepted");
    expect(
      refusal(
        JSON.parse(
          text.replace(/"packages":\{(\}?)/, (_, end) => `"packages":{"__proto__":true${end ? '}' : ','}`),
        ),
      ),
    ).toBe("snapshot options.packages: the key '__proto__' is not accepted");
  });

  it('closes the fresh VM it made when a part is refused, and leaves the snapshot as it was', () => {
    const vm = runFrom(createVm(options), 0, 10);
    const snapshot = viaJson(vm.save()) as VmSnapshot;
    vm.close();
    (snapshot.parts['vcpu/2']!.data as { longSpinWaits: unknown }).longSpinWaits = -1;
    const text = JSON.stringify(snapshot);
    const close = vi.spyOn(Vm.prototype, 'close');
    try {
      expect(() => restoreVm(snapshot)).toThrow(
        /^vcpu\/2\.longSpinWaits = -1: expected a count 0\.\.2\^53-1$/,
      );
      expect(close).toHaveBeenCalledTimes(1);
    } finally {
      close.mockRestore();
    }
    expect(JSON.stringify(snapshot)).toBe(text);
  });

  it('refuses with a SnapshotError, before changing anything, when any part is unknown', () => {
    const vm = createVm(options);
    const snapshot = viaJson(vm.save()) as VmSnapshot;
    let error: unknown;
    try {
      restoreVm({ ...snapshot, parts: { ...snapshot.parts, zzz: { version: 1, data: null } } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SnapshotError);
    vm.close();
  });
});
