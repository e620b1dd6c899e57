/**
 * Every part of a real snapshot, one field mutated at random: restoreVm either refuses it with a
 * one-line SnapshotError naming the part, or gives a VM that runs a workload and whose snapshot
 * restores to the same bytes (save → restore → save).
 */
import { fc, test } from '@fast-check/vitest';
import {
  decodeHypercallResult,
  encodeHypercallControl,
  HvCallCode,
  HvStatus,
  isGuestFault,
} from '@pvlab/hypercall';
import { isHypercallSuspended, SNAPSHOT_MESSAGE_MAX } from '@pvlab/hypercall/host';
import { enableTestHypercalls, INPUT_GPA } from '@pvlab/hypercall/testing';
import { encodeModifyVisibilityInput, HostVisibility } from '@pvlab/isolation';
import { SmcccFunction } from '@pvlab/pv-time';
import { describe, expect } from 'vitest';
import {
  type CreateVmOptions,
  createVm,
  restoreVm,
  SnapshotError,
  type Vm,
  type VmSnapshot,
} from '../src/index.ts';
import { openEcho } from './vmbus-echo.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const FLUSH_ALL_PROCESSORS = 1n;

/** The guest's share of the workload: calls that change every part's counters and queues. */
function x64Workload(vm: Vm): void {
  for (let i = 0; i < vm.vcpus; i++) {
    const vp = vm.vp(i);
    const calls: [bigint, bigint][] = [
      [encodeHypercallControl({ callCode: HvCallCode.HvCallNotifyLongSpinWait, fast: true }), 7n],
      [encodeHypercallControl({ callCode: HvCallCode.HvCallFlushVirtualAddressSpace }), INPUT_GPA],
      [encodeHypercallControl({ callCode: HvCallCode.HvCallSignalEvent, fast: true }), 0x11n],
    ];
    // HvCallFlushVirtualAddressSpace: address space 0, Flags = all processors (on a private page).
    vm.ram.write(INPUT_GPA, new Uint8Array(32));
    vm.ram.view.setBigUint64(Number(INPUT_GPA) + 8, FLUSH_ALL_PROCESSORS, true);
    for (const [control, input] of calls) {
      // A parked VP does not run until the host resumes it.
      if (vp.suspendedOn !== null) break;
      try {
        vp.hypercall(control, input, 0n);
      } catch (e) {
        // What a guest sees (#UD with hypercalls off, a parked VP) is fine; a host error is not.
        if (!isGuestFault(e) && !isHypercallSuspended(e)) throw e;
      }
    }
  }
}

/** HvCallEnablePartitionVtl then HvCallEnableVpVtl of VTL1 on `vp`, from `vp` (PARTITION_SELF, VP_SELF). */
function enableVtl1(vm: Vm, vp: number): void {
  const v = vm.ram.view;
  const at = Number(INPUT_GPA);
  for (const [code, vpIndex] of [
    [HvCallCode.HvCallEnablePartitionVtl, undefined],
    [HvCallCode.HvCallEnableVpVtl, 0xffff_fffe],
  ] as const) {
    vm.ram.fill(INPUT_GPA, 240, 0);
    v.setBigUint64(at, 0xffff_ffff_ffff_ffffn, true);
    if (vpIndex === undefined) v.setUint8(at + 8, 1);
    else {
      v.setUint32(at + 8, vpIndex, true);
      v.setUint8(at + 12, 1);
    }
    const r = vm.vp(vp).hypercall(encodeHypercallControl({ callCode: code }), INPUT_GPA, 0n);
    expect(decodeHypercallResult(r).status).toBe(HvStatus.SUCCESS);
  }
}

function arm64Workload(vm: Vm): void {
  for (let i = 0; i < vm.vcpus; i++) {
    vm.vp(i).preempt(1_000_000_000n);
    vm.vp(i).smccc(SmcccFunction.PV_TIME_ST);
  }
}

interface Base {
  readonly snapshot: VmSnapshot;
  readonly workload: (vm: Vm) => void;
}

/** Small VMs that ran a workload, one per configuration, so every part has real content. */
function bases(): Record<string, Base> {
  const x64 = createVm({ vcpus: 2, memoryBytes: 0x11_0000, tlbFlush: 'kvm-fifo' });
  openEcho(x64);
  for (let i = 0; i < 3; i++) x64Workload(x64);
  enableVtl1(x64, 1);
  x64.vp(1).hypercall(BigInt(HvCallCode.HvCallVtlCall), 0n, 0n);
  x64.vp(1).tlb.fill(0x5000n, 0x9000n, { addressSpace: 2n });
  x64.partition.deliverInterrupt(1, 0x31);

  // Typed as options in general, so createVm gives a plain Vm (the workload uses `ram`).
  const isolation: CreateVmOptions = {
    vcpus: 2,
    memoryBytes: 1024 * 1024,
    isolation: { sharedGpaBoundaryBits: 36 },
  };
  const isolated = createVm(isolation);
  enableTestHypercalls(isolated.vp(0));
  isolated.ram.write(INPUT_GPA, encodeModifyVisibilityInput(HostVisibility.READ_WRITE, [0x40n, 0x41n]));
  isolated.vp(0).hypercall(
    encodeHypercallControl({
      callCode: HvCallCode.HvCallModifySparseGpaPageHostVisibility,
      repCount: 2,
    }),
    INPUT_GPA,
    0n,
  );
  x64Workload(isolated);

  const arm64 = createVm({ arch: 'arm64', vcpus: 2, memoryBytes: 1024 * 1024 });
  for (let i = 0; i < 2; i++) arm64.vp(i).setStolenTimeIpa(0xf0000n + 64n * BigInt(i));
  arm64Workload(arm64);

  const json = (vm: Vm) => JSON.parse(JSON.stringify(vm.save())) as VmSnapshot;
  const out = {
    x64: { snapshot: json(x64), workload: x64Workload },
    isolation: { snapshot: json(isolated), workload: x64Workload },
    arm64: { snapshot: json(arm64), workload: arm64Workload },
  };
  for (const vm of [x64, isolated, arm64]) {
    vm.takeDiagnostics();
    vm.close();
  }
  return out;
}

const BASES = bases();

/** Every path into `value` (the root included): object keys and array indexes. */
function paths(value: Json, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value))
    out.push(...paths(v, [...at, Array.isArray(value) ? Number(k) : k]));
  return out;
}

/** Sets `key` as an own property, even `__proto__`, as JSON.parse would. */
function setOwn(o: object, key: string | number, v: Json): void {
  Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
}

const EDGE_NUMBERS = [0, -1, 1, 0.5, 255, 256, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 1e308];
const EDGE_STRINGS = [
  '',
  '0x0',
  '0x1',
  '0xffffffffffffffff',
  '0x10000000000000001',
  '0x-1',
  'AAAA',
  'x'.repeat(100_000),
  'constructor',
];
const edgeValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(...EDGE_NUMBERS, ...EDGE_STRINGS, null, true, false, [], {}, [0], { a: 1 }),
  fc.integer({ min: -3, max: 70_000 }),
  fc.string({ maxLength: 12 }),
);
const extraKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'toString', 'extra', '0', '1', '99999', '00'),
  fc.string({ maxLength: 6 }),
);

/** Values near the edges of what a field of `current`'s kind holds: 64-bit hex, counts, indexes. */
function nearValue(current: Json): fc.Arbitrary<Json> {
  if (typeof current === 'string' && current.startsWith('0x'))
    return fc.oneof(
      fc.constantFrom('0x0', '0xffffffffffffffff', '0xfffffffffffffffe', '0x8000000000000000', '0xffffffff'),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => `0x${v.toString(16)}`),
    );
  if (typeof current === 'number')
    return fc.oneof(
      fc.constantFrom(0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 52, 2 ** 53 - 2, 2 ** 53 - 1),
      fc.integer({ min: Math.max(0, current - 3), max: current + 3 }),
    );
  return edgeValue;
}

type Mutation =
  | { kind: 'set'; path: Path; value: Json }
  | { kind: 'add'; path: Path; key: string; value: Json }
  | { kind: 'delete'; path: Path };
type Path = (string | number)[];

/** Where a case mutates: part `name`'s data, or the snapshot's options. */
function rootOf(name: string): Path {
  return name === 'options' ? ['options'] : ['parts', name, 'data'];
}

const at = (value: Json, path: Path): Json =>
  path.reduce<Json>((v, k) => (v as Record<string, Json>)[k]!, value);

/** One mutation under `name`: a field set near its edges or to any edge value, a key added or removed. */
function mutationOf(snapshot: VmSnapshot, name: string): fc.Arbitrary<Mutation> {
  const data = at(snapshot as unknown as Json, rootOf(name));
  const all = paths(data);
  return fc.integer({ min: 0, max: all.length - 1 }).chain((i) => {
    const path = all[i]!;
    const current = at(data, path);
    return fc.oneof(
      { weight: 4, arbitrary: nearValue(current).map((value): Mutation => ({ kind: 'set', path, value })) },
      { weight: 2, arbitrary: edgeValue.map((value): Mutation => ({ kind: 'set', path, value })) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(extraKey, edgeValue)
          .map(([key, value]): Mutation => ({ kind: 'add', path, key, value })),
      },
      { weight: 1, arbitrary: fc.constant<Mutation>({ kind: 'delete', path }) },
    );
  });
}

/** A copy of `snapshot` mutated once under `name`. */
function mutate(snapshot: VmSnapshot, name: string, m: Mutation): unknown {
  const copy = JSON.parse(JSON.stringify(snapshot)) as Json;
  const path = [...rootOf(name), ...m.path];
  let parent: Json = copy;
  for (const k of path.slice(0, -1)) parent = (parent as Record<string, Json>)[k]!;
  const last = path.at(-1)!;
  const target = (parent as Record<string, Json>)[last]!;
  if (m.kind === 'add' && target !== null && typeof target === 'object' && !Array.isArray(target))
    setOwn(target, m.key, m.value);
  else if (m.kind === 'delete' && Array.isArray(parent)) parent.splice(last as number, 1);
  else if (m.kind === 'delete' && path.length > 1) delete (parent as Record<string, Json>)[last];
  else setOwn(parent as object, last, m.kind === 'set' || m.kind === 'add' ? m.value : null);
  // Through JSON text, as a file carries it (an own `__proto__` key survives JSON.parse).
  return JSON.parse(JSON.stringify(copy));
}

const cases = Object.entries(BASES).flatMap(([config, base]) =>
  Object.keys(base.snapshot.parts)
    // One vCPU part per configuration: the others are the same code.
    .filter((name) => name !== 'vcpu/1' && !(config !== 'x64' && name === 'memory'))
    .map((name) => [config, name] as const)
    .concat(config === 'isolation' ? [] : [[config, 'options'] as const]),
);

describe('restoreVm of a snapshot with one field of one part (or of its options) mutated', () => {
  test.each(cases)(
    '%s: %s is refused in one line or restores, runs and saves again',
    (config, name) => {
      const base = BASES[config]!;
      fc.assert(
        fc.property(mutationOf(base.snapshot, name), (m) => {
          const input = mutate(base.snapshot, name, m);
          const text = JSON.stringify(input);
          let vm: Vm;
          try {
            vm = restoreVm(input);
          } catch (e) {
            expect(e).toBeInstanceOf(SnapshotError);
            const message = (e as Error).message;
            expect(message).not.toMatch(/[\r\n]/);
            expect(message.length).toBeLessThanOrEqual(SNAPSHOT_MESSAGE_MAX);
            // An option names itself, or the part that no longer fits the VM it makes.
            const named = name === 'options' ? ['options', ...Object.keys(base.snapshot.parts)] : [name];
            expect(
              named.some((n) => message.includes(n)),
              message,
            ).toBe(true);
            // The refusal did not touch what it was given.
            expect(JSON.stringify(input)).toBe(text);
            return;
          }
          base.workload(vm);
          const saved = JSON.stringify(vm.save());
          const again = restoreVm(JSON.parse(saved));
          expect(JSON.stringify(again.save())).toBe(saved);
          for (const v of [vm, again]) {
            v.takeDiagnostics();
            v.close();
          }
        }),
        { numRuns: 100 },
      );
    },
    60_000,
  );
});
