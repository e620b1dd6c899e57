import { HvStatus } from '@pvlab/hypercall';
import { SnapshotError } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { KvmFlushFifo } from '../src/host/kvm-flush-fifo.ts';
import { tlbIpiSnapshotPart } from '../src/host/snapshot.ts';
import { flushListExReq, issue, SPACE_A, TestVm, VP_A, VP_B } from './host-fixtures.ts';

const ranges = (n: number) => Array.from({ length: n }, (_, i) => 0x1000_0000n + BigInt(i) * 0x1000n);

describe("tlbIpiSnapshotPart: the tlb-ipi host state as snapshot part 'tlb-ipi' (v1)", () => {
  it('round-trips the counters and every KVM queue through JSON into a fresh partition', () => {
    const vm = new TestVm({ flush: 'kvm-fifo' });
    const set = { vps: [VP_A, VP_B] };
    expect(issue(vm, 'memory', flushListExReq({ space: SPACE_A, ...set }, ranges(16))).status).toBe(
      HvStatus.SUCCESS,
    );
    expect(issue(vm, 'memory', flushListExReq({ space: SPACE_A, ...set }, ranges(3))).status).toBe(
      HvStatus.SUCCESS,
    );
    const part = tlbIpiSnapshotPart(vm.state);
    const data = JSON.parse(JSON.stringify(part.save()));
    expect(data).toMatchObject({
      flushMode: 'kvm-fifo',
      counters: { flushes: 2, targetFlushes: 4 },
      fifos: { [VP_A]: { queued: [], overflows: 1, fullFlushes: 1 } },
    });
    const fresh = new TestVm({ flush: 'kvm-fifo' });
    tlbIpiSnapshotPart(fresh.state).restore(data, 1);
    expect(tlbIpiSnapshotPart(fresh.state).save()).toEqual(part.save());
    expect(fresh.state.fifo(VP_B).overflows).toBe(1);
  });

  it('keeps queued entries (a queue that was not drained yet) in order, with their range format', () => {
    const fifo = new KvmFlushFifo();
    fifo.enqueue([0x1000n, 0x2fffn], 2, false);
    fifo.enqueue([0x3000n], 1, true);
    const copy = new KvmFlushFifo();
    copy.load(fifo.queued());
    expect(copy.queued()).toEqual([
      { entry: 0x1000n, extended: false },
      { entry: 0x2fffn, extended: false },
      { entry: 0x3000n, extended: true },
    ]);
    expect(() => copy.load(Array.from({ length: 17 }, () => ({ entry: 0n, extended: false })))).toThrow(
      /at most 16 entries; got 17/,
    );
  });

  it.each([
    [
      'a newer version',
      (d: Record<string, unknown>) => d,
      2,
      /snapshot part 'tlb-ipi' has format version 2; this host reads version 1/,
    ],
    [
      'another flush mode',
      (d: Record<string, unknown>) => ({ ...d, flushMode: 'precise' }),
      1,
      /tlb-ipi.flushMode = "precise": this VM flushes 'kvm-fifo'/,
    ],
    [
      'a bad counter',
      (d: Record<string, unknown>) => ({ ...d, counters: { flushes: -1 } }),
      1,
      /tlb-ipi.counters.flushes = -1: expected a count/,
    ],
    [
      'a VP the VM lacks',
      (d: Record<string, unknown>) => ({
        ...d,
        fifos: { 9999: { queued: [], overflows: 0, fullFlushes: 0 } },
      }),
      1,
      /tlb-ipi.fifos\["9999"\]: not a VP of this VM/,
    ],
    [
      'an overfull queue',
      (d: Record<string, unknown>) => ({
        ...d,
        fifos: { 1: { queued: new Array(17).fill({ entry: '0x0' }), overflows: 0, fullFlushes: 0 } },
      }),
      1,
      /queued: expected at most 16 entries/,
    ],
  ])('refuses %s, changing nothing', (_what, mutate, version, message) => {
    const vm = new TestVm({ flush: 'kvm-fifo' });
    const part = tlbIpiSnapshotPart(vm.state);
    const data = part.save() as Record<string, unknown>;
    vm.state.counters.ipis = 7;
    expect(() => part.restore(mutate(data) as never, version)).toThrow(SnapshotError);
    expect(() => part.restore(mutate(data) as never, version)).toThrow(message);
    expect(vm.state.counters.ipis).toBe(7);
  });
});
