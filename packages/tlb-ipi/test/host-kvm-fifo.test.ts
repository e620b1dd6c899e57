import { HvStatus } from '@pvlab/hypercall';
import { SoftwareTlb } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { tlbIpiExtension } from '../src/host/extension.ts';
import {
  KVM_HV_TLB_FLUSH_FIFO_SIZE,
  KVM_HV_TLB_FLUSHALL_ENTRY,
  KvmFlushFifo,
} from '../src/host/kvm-flush-fifo.ts';
import { HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY } from '../src/wire/flush.ts';
import {
  expectOnlyChanged,
  FORMS,
  flushListExReq,
  flushListReq,
  flushSpaceExReq,
  issue,
  processorMask,
  SPACE_A,
  standardKeysWithout,
  TestVm,
  titled,
  VP_A,
  VP_B,
} from './host-fixtures.ts';

/** `n` single-page ranges: the first is GVA 0x100000 (cached by every VP), the rest are not cached. */
const ranges = (n: number) =>
  Array.from({ length: n }, (_, i) => (i === 0 ? 0x10_0000n : 0x1000_0000n + BigInt(i) * 0x1000n));

describe("KvmFlushFifo (spec 02 rule 15: KVM's 16-slot per-vCPU queue)", () => {
  it('holds 16 slots', () => expect(KVM_HV_TLB_FLUSH_FIFO_SIZE).toBe(16));

  it('"enqueues all entries only if they fit while leaving one slot free": 15 fit an empty queue, 16 do not', () => {
    const fits = new KvmFlushFifo();
    fits.enqueue(ranges(15), 15, false);
    expect({ length: fits.length, overflows: fits.overflows }).toEqual({ length: 15, overflows: 0 });
    const overflows = new KvmFlushFifo();
    overflows.enqueue(ranges(16), 16, false);
    expect({ length: overflows.length, overflows: overflows.overflows }).toEqual({ length: 1, overflows: 1 });
    expect(overflows.drain(new SoftwareTlb())).toBe('all');
  });

  it('requests queued before a drain share the slots: 10 + 5 fit, then 1 more becomes the marker', () => {
    const fifo = new KvmFlushFifo();
    fifo.enqueue(ranges(10), 10, false);
    fifo.enqueue(ranges(5), 5, false);
    expect(fifo.length).toBe(15);
    fifo.enqueue(ranges(1), 1, false);
    expect({ length: fifo.length, overflows: fifo.overflows }).toEqual({ length: 16, overflows: 1 });
    fifo.enqueueFlushAll(); // "a full fifo always contains a flush-all entry": nothing more goes in
    expect(fifo.length).toBe(16);
    const tlb = new SoftwareTlb();
    tlb.fill(0x7000_0000n, 0x1000n, { addressSpace: 5n });
    expect(fifo.drain(tlb)).toBe('all');
    expect({ size: tlb.size, length: fifo.length, fullFlushes: fifo.fullFlushes }).toEqual({
      size: 0,
      length: 0,
      fullFlushes: 1,
    });
  });

  it('drains ranges in every address space, global entries included; an empty queue does nothing', () => {
    const fifo = new KvmFlushFifo();
    const tlb = new SoftwareTlb();
    tlb.fill(0x10_0000n, 0x1000n, { addressSpace: 1n });
    tlb.fill(0x10_0000n, 0x2000n, { addressSpace: 2n });
    tlb.fill(0x10_1000n, 0x3000n, { global: true });
    tlb.fill(0x10_2000n, 0x4000n, { addressSpace: 1n });
    fifo.enqueue([0x10_0001n], 1, false);
    expect(fifo.drain(tlb)).toBe('ranges');
    expect(tlb.entries().map((e) => e.gva)).toEqual([0x10_2000n]);
    expect(fifo.drain(tlb)).toBe('empty');
  });

  it('a guest entry equal to the marker (u64 all ones) reads as the marker, as in KVM', () => {
    const fifo = new KvmFlushFifo();
    const tlb = new SoftwareTlb();
    tlb.fill(0x5000n, 0x1000n);
    fifo.enqueue([KVM_HV_TLB_FLUSHALL_ENTRY], 1, false);
    expect(fifo.drain(tlb)).toBe('all');
    expect(tlb.size).toBe(0);
  });
});

describe("createVm({ tlbFlush: 'kvm-fifo' }): targets VP 2 and VP 65", () => {
  const set = { vps: [VP_A, VP_B] };
  const rows = FORMS.map((form) => ({ form }));

  it.each(
    titled(
      rows,
      (r) => `${r.form}: a List call of 15 ranges fits: the listed page goes in every address space`,
    ),
  )('%s', (_t, { form }) => {
    const vm = new TestVm({ flush: 'kvm-fifo' });
    vm.fillAll();
    const before = vm.snapshot();
    // Memory form: 15 ranges; fast form holds at most 10 − 2, so 8.
    const n = form === 'memory' ? 15 : 8;
    expect(issue(vm, form, flushListExReq({ space: SPACE_A, ...set }, ranges(n))).status).toBe(
      HvStatus.SUCCESS,
    );
    const after = vm.snapshot();
    // AddressSpace is ignored (rule 12): page 0x100000 goes from A and from B.
    const expected = standardKeysWithout((s, gva) => s !== 'G' && gva === 0x10_0000n);
    expect([after[VP_A]!.tlb, after[VP_B]!.tlb]).toEqual([expected, expected]);
    expect(vm.state.fifo(VP_A).overflows).toBe(0);
    expectOnlyChanged(before, after, [VP_A, VP_B]);
  });

  it('16 ranges do not fit: one flush-everything marker, the targets lose every entry', () => {
    const vm = new TestVm({ flush: 'kvm-fifo' });
    vm.fillAll();
    const before = vm.snapshot();
    expect(issue(vm, 'memory', flushListExReq({ space: SPACE_A, ...set }, ranges(16))).status).toBe(
      HvStatus.SUCCESS,
    );
    const after = vm.snapshot();
    expect([after[VP_A]!.tlb, after[VP_B]!.tlb]).toEqual([[], []]);
    expect([vm.state.fifo(VP_A).overflows, vm.state.fifo(VP_B).fullFlushes]).toEqual([1, 1]);
    expectOnlyChanged(before, after, [VP_A, VP_B]);
  });

  it('the same 16 ranges in precise mode remove only the one cached page of A (a guest relying on the over-flush is caught)', () => {
    const vm = new TestVm();
    vm.fillAll();
    issue(vm, 'memory', flushListExReq({ space: SPACE_A, ...set }, ranges(16)));
    expect(vm.snapshot()[VP_A]!.tlb).toEqual(
      standardKeysWithout((s, gva) => s === 'A' && gva === 0x10_0000n),
    );
  });

  it.each(
    titled(
      rows,
      (r) => `${r.form}: a Space call pushes the marker: a full flush, NON_GLOBAL_MAPPINGS_ONLY or not`,
    ),
  )('%s', (_t, { form }) => {
    const vm = new TestVm({ flush: 'kvm-fifo' });
    vm.fillAll();
    const before = vm.snapshot();
    const req = flushSpaceExReq({ space: SPACE_A, flags: HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY, ...set });
    expect(issue(vm, form, req).status).toBe(HvStatus.SUCCESS);
    const after = vm.snapshot();
    expect([after[VP_A]!.tlb, after[VP_B]!.tlb]).toEqual([[], []]);
    expectOnlyChanged(before, after, [VP_A, VP_B]);
  });

  it('validation is the same as in precise mode: a bad flag is INVALID_PARAMETER and flushes nothing', () => {
    const vm = new TestVm({ flush: 'kvm-fifo' });
    vm.fillAll();
    const before = vm.snapshot();
    expect(
      issue(vm, 'memory', flushListReq({ flags: 0x10n, mask: processorMask([VP_A]) }, ranges(1))).status,
    ).toBe(HvStatus.INVALID_PARAMETER);
    expectOnlyChanged(before, vm.snapshot(), []);
  });

  it('a time-sliced List call enqueues each invocation on its own (KVM never time-slices)', () => {
    const vm = new TestVm({ flush: 'kvm-fifo', maxRepsPerCall: 10 });
    vm.fillAll();
    const req = (start: number) =>
      flushListReq({ mask: processorMask([VP_A]) }, ranges(20), { repStartIndex: start });
    expect(issue(vm, 'memory', req(0)).reps).toBe(10);
    expect(issue(vm, 'memory', req(10)).reps).toBe(20);
    expect(vm.state.fifo(VP_A).overflows).toBe(0);
    expect(vm.snapshot()[VP_A]!.tlb).toEqual(
      standardKeysWithout((s, gva) => s !== 'G' && gva === 0x10_0000n),
    );
  });

  it('tlbIpiExtension refuses an unknown flush mode (a host error, not a guest one)', () => {
    expect(() => tlbIpiExtension({ flush: 'lazy' as never })).toThrow(
      "tlb-ipi flush mode 'lazy': use precise or kvm-fifo",
    );
  });
});
