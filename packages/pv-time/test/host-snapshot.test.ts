import { fc, test } from '@fast-check/vitest';
import { GuestMemory } from '@pvlab/hypercall';
import { type SnapshotData, SnapshotError } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { PV_TIME_IPA_UNSET } from '../src/host/index.ts';
import {
  PV_TIME_SNAPSHOT_PART,
  PV_TIME_SNAPSHOT_VERSION,
  PV_TIME_SNAPSHOT_VERSIONS,
} from '../src/host/snapshot.ts';
import { SmcccFunction } from '../src/index.ts';
import { RAM_BYTES, recordIpa, TestVm, VCPUS } from './fixtures.ts';

/** Saves `vm` as the VM snapshot file would (JSON), and restores it into a new VM over a copy of RAM. */
function saveAndRestore(vm: TestVm, options: ConstructorParameters<typeof TestVm>[0] = {}): TestVm {
  const part = vm.pvTime.snapshotPart();
  const json = JSON.parse(JSON.stringify({ version: part.version, data: part.save() })) as {
    version: number;
    data: SnapshotData;
  };
  const memory = new GuestMemory(RAM_BYTES);
  memory.bytes.set(vm.memory.bytes);
  const restored = new TestVm({ ...options, memory });
  restored.pvTime.snapshotPart().restore(json.data, json.version);
  return restored;
}

const vcpuEntry = (ipa: bigint, runDelayNs: bigint, lastStealNs: bigint) => ({
  ipa: `0x${ipa.toString(16)}`,
  runDelayNs: `0x${runDelayNs.toString(16)}`,
  lastStealNs: `0x${lastStealNs.toString(16)}`,
});

function v2(overrides: Record<string, SnapshotData> = {}, visible: SnapshotData = true): SnapshotData {
  const vcpus: Record<string, SnapshotData> = {};
  for (let i = 0; i < VCPUS; i++) vcpus[String(i)] = vcpuEntry(recordIpa(i), 0n, 0n);
  return { visible, vcpus: { ...vcpus, ...overrides } };
}

describe('snapshot part pv-time', () => {
  it('is named pv-time, writes version 2, reads 1 and 2', () => {
    const part = new TestVm().pvTime.snapshotPart();
    expect(part.name).toBe(PV_TIME_SNAPSHOT_PART);
    expect(part.name).toBe('pv-time');
    expect(part.version).toBe(PV_TIME_SNAPSHOT_VERSION);
    expect(part.version).toBe(2);
    expect(part.supportedVersions).toEqual(PV_TIME_SNAPSHOT_VERSIONS);
    expect(part.supportedVersions).toEqual([1, 2]);
  });

  it('saves named fields: visible, and per vCPU ipa / runDelayNs / lastStealNs as hex', () => {
    const vm = new TestVm({ pvTime: { hidden: true } });
    vm.pvTime.setStolenTimeIpa(1, recordIpa(1));
    vm.pvTime.accountSteal(1, 0x30n);
    vm.pvTime.beforeRun(1);
    vm.pvTime.accountSteal(1, 0x5n);
    expect(vm.pvTime.snapshotPart().save()).toEqual({
      visible: false,
      vcpus: {
        '0': vcpuEntry(PV_TIME_IPA_UNSET, 0n, 0n),
        '1': vcpuEntry(recordIpa(1), 0x35n, 0x30n),
        '2': vcpuEntry(PV_TIME_IPA_UNSET, 0n, 0n),
        '3': vcpuEntry(PV_TIME_IPA_UNSET, 0n, 0n),
      },
    });
  });

  it('stolen time continues across save/restore: no reset, no jump backwards, same as an uninterrupted run', () => {
    const steps: [number, bigint][] = [
      [0, 1000n],
      [1, 250n],
      [0, 30n],
      [2, 7n],
    ];
    const uninterrupted = new TestVm().withRecords();
    const interrupted = new TestVm().withRecords();
    for (const vm of [uninterrupted, interrupted])
      for (let i = 0; i < VCPUS; i++) vm.smccc(i, SmcccFunction.PV_TIME_ST);
    for (const [vcpu, ns] of steps) {
      uninterrupted.pvTime.preempt(vcpu, ns);
      interrupted.pvTime.preempt(vcpu, ns);
    }
    // Steal accounted but not yet published when the VM is saved: it must not be lost.
    uninterrupted.pvTime.accountSteal(0, 99n);
    interrupted.pvTime.accountSteal(0, 99n);
    const at = interrupted.pvTime.recordedStolenTime(0)!;

    const restored = saveAndRestore(interrupted);
    expect(restored.pvTime.recordedStolenTime(0)).toBe(at); // no reset
    for (const [vcpu, ns] of steps) {
      uninterrupted.pvTime.preempt(vcpu, ns);
      restored.pvTime.preempt(vcpu, ns);
    }
    for (let i = 0; i < VCPUS; i++) {
      expect(restored.pvTime.recordedStolenTime(i)).toBe(uninterrupted.pvTime.recordedStolenTime(i));
      expect(restored.pvTime.vcpuState(i)).toEqual(uninterrupted.pvTime.vcpuState(i));
    }
    expect(restored.pvTime.recordedStolenTime(0)).toBe(1000n + 30n + 99n + 1000n + 30n);
    expect(restored.pvTime.recordedStolenTime(0)! >= at).toBe(true);
  });

  it('restores the IPAs: EEXIST after restore, GET returns them, PV_TIME_ST answers them', () => {
    const restored = saveAndRestore(new TestVm().withRecords());
    expect(restored.pvTime.stolenTimeIpa(3)).toBe(recordIpa(3));
    expect(() => restored.pvTime.setStolenTimeIpa(3, recordIpa(3))).toThrow(/EEXIST/);
    expect(restored.smccc(3, SmcccFunction.PV_TIME_ST)[0]).toBe(recordIpa(3));
  });

  it('restores the hide switch (v2), replacing the restoring host’s own setting', () => {
    const vm = new TestVm({ pvTime: { hidden: true } });
    expect(saveAndRestore(vm).pvTime.hidden).toBe(true);
    expect(saveAndRestore(new TestVm(), { pvTime: { hidden: true } }).pvTime.hidden).toBe(false);
  });

  it('a newer host restores a v1 snapshot (no `visible`): the restoring host keeps its own switch', () => {
    const v1: SnapshotData = {
      vcpus: {
        '0': vcpuEntry(recordIpa(0), 500n, 400n),
        '1': vcpuEntry(PV_TIME_IPA_UNSET, 0n, 0n),
        '2': vcpuEntry(PV_TIME_IPA_UNSET, 0n, 0n),
        '3': vcpuEntry(PV_TIME_IPA_UNSET, 0n, 0n),
      },
    };
    for (const hidden of [false, true]) {
      const vm = new TestVm({ pvTime: { hidden } });
      vm.pvTime.snapshotPart().restore(v1, 1);
      expect(vm.pvTime.hidden).toBe(hidden);
      expect(vm.pvTime.vcpuState(0)).toEqual({ ipa: recordIpa(0), runDelayNs: 500n, lastStealNs: 400n });
      expect(vm.pvTime.beforeRun(0)?.stolenTime).toBe(100n);
    }
  });

  it('refuses a version this host does not know, naming the part and the versions it reads', () => {
    const part = new TestVm().pvTime.snapshotPart();
    expect(() => part.restore(v2(), 3)).toThrow(SnapshotError);
    expect(() => part.restore(v2(), 3)).toThrow(
      "snapshot part 'pv-time' has format version 3; this host reads versions 1, 2",
    );
  });

  it.each<[string, SnapshotData, RegExp]>([
    ['not an object', 5, /^pv-time = 5: expected an object/],
    ['visible missing (v2)', { vcpus: {} }, /^pv-time\.visible = missing: expected true or false/],
    ['visible not a boolean', v2({}, 'yes'), /^pv-time\.visible = "yes"/],
    ['vcpus missing', { visible: true }, /^pv-time\.vcpus = missing: expected an object/],
    ['vcpus as an array', { visible: true, vcpus: [] }, /^pv-time\.vcpus = \[\]: expected an object/],
    ['too few vCPUs', { visible: true, vcpus: { '0': vcpuEntry(0n, 0n, 0n) } }, /this VM has 4 vCPUs/],
    [
      'a vCPU key that is not an index',
      v2({ x: vcpuEntry(0n, 0n, 0n) }),
      /pv-time.vcpus has key\(s\) 'x': this VM has 4 vCPUs/,
    ],
    ['ipa not hex', v2({ '1': { ...vcpuEntry(0n, 0n, 0n), ipa: 64 } }), /pv-time\.vcpus\["1"\]\.ipa = 64/],
    [
      'ipa misaligned',
      v2({ '2': vcpuEntry(0xf020n, 0n, 0n) }),
      /pv-time\.vcpus\["2"\]\.ipa = 0xf020: expected a 64-byte aligned record/,
    ],
    ['ipa outside RAM', v2({ '2': vcpuEntry(0x1_0000n, 0n, 0n) }), /vcpus\["2"\]\.ipa = 0x10000/],
    [
      'runDelayNs missing',
      v2({ '3': { ipa: '0x0', lastStealNs: '0x0' } }),
      /pv-time\.vcpus\["3"\]\.runDelayNs = missing/,
    ],
    [
      'lastStealNs beyond runDelayNs',
      v2({ '0': vcpuEntry(0n, 5n, 6n) }),
      /pv-time\.vcpus\["0"\]\.lastStealNs = 0x6 is beyond runDelayNs = 0x5/,
    ],
    [
      'a field this part does not have',
      v2({ '1': { ...(vcpuEntry(0n, 0n, 0n) as object), steal: '0x0' } }),
      /pv-time\.vcpus\["1"\]: unknown field 'steal' \(it has ipa, runDelayNs, lastStealNs\)/,
    ],
    [
      'a vCPU entry that is not an object',
      v2({ '0': 'x' }),
      /pv-time\.vcpus\["0"\] = "x": expected an object/,
    ],
  ])('refuses %s with a SnapshotError naming the field, and changes nothing', (_, data, message) => {
    const vm = new TestVm().withRecords();
    vm.pvTime.accountSteal(0, 77n);
    const before = Array.from({ length: VCPUS }, (_, i) => vm.pvTime.vcpuState(i));
    const run = () => vm.pvTime.snapshotPart().restore(data, 2);
    expect(run).toThrow(SnapshotError);
    expect(run).toThrow(message);
    expect(Array.from({ length: VCPUS }, (_, i) => vm.pvTime.vcpuState(i))).toEqual(before);
  });

  it('a run delay near 2^64 restores, keeps accounting (stopping at 2^64-1) and saves again', () => {
    const vm = new TestVm().withRecords();
    const data = v2({ '1': vcpuEntry(recordIpa(1), (1n << 64n) - 10n, 0n) });
    vm.pvTime.snapshotPart().restore(data, 2);
    vm.pvTime.preempt(1, 1_000_000_000_000n);
    const again = new TestVm().withRecords();
    again.pvTime.snapshotPart().restore(vm.pvTime.snapshotPart().save(), 2);
    expect(again.pvTime.vcpuState(1).runDelayNs).toBe((1n << 64n) - 1n);
    again.pvTime.preempt(1, 7n);
    expect(again.pvTime.vcpuState(1)).toEqual(vm.pvTime.vcpuState(1));
  });

  it('a host without stolen-time accounting refuses a snapshot with an IPA set (rule 10)', () => {
    const vm = new TestVm({ pvTime: { schedInfo: false } });
    expect(() => vm.pvTime.snapshotPart().restore(v2(), 2)).toThrow(
      /pv-time\.vcpus\["0"\]\.ipa is set, but this host does not account stolen time/,
    );
    const unset: Record<string, SnapshotData> = {};
    for (let i = 0; i < VCPUS; i++) unset[String(i)] = vcpuEntry(PV_TIME_IPA_UNSET, 3n, 1n);
    vm.pvTime.snapshotPart().restore({ visible: true, vcpus: unset }, 2);
    expect(vm.pvTime.vcpuState(2).runDelayNs).toBe(3n);
  });
});

/**
 * Never decreasing, as documented: between two PV_TIME_ST calls of a vCPU its StolenTime only
 * grows, and always equals the delay accounted since that PV_TIME_ST up to its last update; the
 * host's own accounting (runDelayNs) never decreases at all; save/restore changes neither.
 */
describe('stolen time never decreases (fast-check over random interleavings)', () => {
  type Op =
    | { kind: 'account'; vcpu: number; ns: bigint }
    | { kind: 'run'; vcpu: number }
    | { kind: 'st'; vcpu: number }
    | { kind: 'save-restore' };
  const vcpu = fc.integer({ min: 0, max: VCPUS - 1 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('account' as const), vcpu, ns: fc.bigInt({ min: 0n, max: 1n << 40n }) }),
    fc.record({ kind: fc.constant('run' as const), vcpu }),
    fc.record({ kind: fc.constant('st' as const), vcpu }),
    fc.constant({ kind: 'save-restore' as const }),
  );

  test.prop([fc.array(op, { minLength: 1, maxLength: 60, size: 'max' }), fc.subarray([0, 1, 2, 3])], {
    numRuns: 200,
  })('the record matches the model and only drops at the guest’s own PV_TIME_ST', (ops, withIpa) => {
    let vm = new TestVm();
    for (const i of withIpa) vm.pvTime.setStolenTimeIpa(i, recordIpa(i));
    // Model: delay accounted since the last PV_TIME_ST (or since start), and what has been published.
    const sinceSt = Array.from({ length: VCPUS }, () => 0n);
    const published = Array.from({ length: VCPUS }, () => 0n);
    const runDelay = Array.from({ length: VCPUS }, () => 0n);
    for (const o of ops) {
      const before = Array.from({ length: VCPUS }, (_, i) => vm.pvTime.recordedStolenTime(i));
      const delays = Array.from({ length: VCPUS }, (_, i) => vm.pvTime.vcpuState(i).runDelayNs);
      switch (o.kind) {
        case 'account':
          vm.pvTime.accountSteal(o.vcpu, o.ns);
          sinceSt[o.vcpu]! += o.ns;
          runDelay[o.vcpu]! += o.ns;
          break;
        case 'run':
          vm.pvTime.beforeRun(o.vcpu);
          if (withIpa.includes(o.vcpu)) published[o.vcpu] = sinceSt[o.vcpu]!;
          break;
        case 'st':
          vm.smccc(o.vcpu, SmcccFunction.PV_TIME_ST);
          if (withIpa.includes(o.vcpu)) {
            sinceSt[o.vcpu] = 0n;
            published[o.vcpu] = 0n;
          }
          break;
        case 'save-restore':
          vm = saveAndRestore(vm);
          break;
      }
      for (let i = 0; i < VCPUS; i++) {
        const now = vm.pvTime.recordedStolenTime(i);
        expect(vm.pvTime.vcpuState(i).runDelayNs >= delays[i]!).toBe(true);
        expect(vm.pvTime.vcpuState(i).runDelayNs).toBe(runDelay[i]);
        if (!withIpa.includes(i)) {
          expect(now).toBeUndefined();
          continue;
        }
        expect(now).toBe(published[i]);
        const resetHere = o.kind === 'st' && o.vcpu === i;
        if (!resetHere) expect(now! >= before[i]!).toBe(true);
      }
    }
  });
});
