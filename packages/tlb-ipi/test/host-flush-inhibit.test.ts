import { HvCallCode, HvStatus, hvStatusName } from '@pvlab/hypercall';
import { HypercallSuspended } from '@pvlab/hypercall/host';
import { describe, expect, it } from 'vitest';
import { HV_FLUSH_ALL_PROCESSORS } from '../src/wire/flush.ts';
import {
  expectNothingChanged,
  expectOnlyChanged,
  FORMS,
  flushListExReq,
  flushListReq,
  flushSpaceExReq,
  flushSpaceReq,
  issue,
  processorMask,
  type Req,
  TestVm,
  titled,
  VP_A,
  VP_B,
} from './host-fixtures.ts';

/** Two 4 KiB pages from GVA 0x100000. */
const TWO_PAGES = 0x10_0000n | 1n;
const CALLER = 1;

/** The four flush calls, each targeting VP_A (and VP_B where the form reaches it). */
const FLUSHES: readonly { name: string; req: Req; targets: readonly number[] }[] = [
  {
    name: 'FlushVirtualAddressSpace',
    req: flushSpaceReq({ mask: processorMask([VP_A, 5]) }),
    targets: [VP_A, 5],
  },
  {
    name: 'FlushVirtualAddressList',
    req: flushListReq({ mask: processorMask([VP_A, 5]) }, [TWO_PAGES]),
    targets: [VP_A, 5],
  },
  { name: 'FlushVirtualAddressSpaceEx', req: flushSpaceExReq({ vps: [VP_A, VP_B] }), targets: [VP_A, VP_B] },
  {
    name: 'FlushVirtualAddressListEx',
    req: flushListExReq({ vps: [VP_A, VP_B] }, [TWO_PAGES]),
    targets: [VP_A, VP_B],
  },
];

function lockedVm(locked: Set<number>): TestVm {
  const vm = new TestVm();
  for (const t of locked) vm.partition.setTlbLocked(t, true);
  vm.fillAll();
  return vm;
}

function suspendedBy(fn: () => unknown): HypercallSuspended {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HypercallSuspended);
    return e as HypercallSuspended;
  }
  throw new Error('expected the flush to suspend its caller');
}

const rows = FLUSHES.flatMap((f) => FORMS.map((form) => ({ ...f, form })));

describe('locked TLBs (spec 03 rule 9: a flush that needs a locked VP suspends the caller)', () => {
  it.each(
    titled(rows, (r) => `${r.form} ${r.name}: a locked target suspends the caller, nothing is flushed`),
  )('%s', (_t, r) => {
    const locked = new Set([r.targets[1]!]);
    const vm = lockedVm(locked);
    const before = vm.snapshot();
    const e = suspendedBy(() => issue(vm, r.form, r.req, CALLER));
    expect([e.vp, e.waitingOn]).toEqual([CALLER, r.targets[1]]);
    expect(e.reason).toMatch(/TLB flush of VP \d+ inhibited/);
    expectNothingChanged(before, vm.snapshot());
    expect(vm.state.counters.flushes).toBe(0);
    expect(vm.partition.vp(CALLER).suspendedOn).toBe(r.targets[1]);
  });

  it.each(
    titled(rows, (r) => `${r.form} ${r.name}: after unlock + resumeWaiters the re-executed flush completes`),
  )('%s', (_t, r) => {
    const vm = lockedVm(new Set([r.targets[0]!]));
    suspendedBy(() => issue(vm, r.form, r.req, CALLER));
    vm.partition.setTlbLocked(r.targets[0]!, false);
    expect(vm.partition.resumeWaiters(r.targets[0]!)).toEqual([CALLER]);
    const before = vm.snapshot();
    const out = issue(vm, r.form, r.req, CALLER);
    expect(hvStatusName(out.status)).toBe(hvStatusName(HvStatus.SUCCESS));
    expectOnlyChanged(before, vm.snapshot(), r.targets);
  });

  it('the first locked target (ascending) is the one waited on', () => {
    const vm = lockedVm(new Set([VP_B, VP_A]));
    const e = suspendedBy(() => issue(vm, 'memory', flushSpaceExReq({ vps: [VP_A, VP_B] }), CALLER));
    expect(e.waitingOn).toBe(VP_A);
  });

  it("the caller's own locked TLB never suspends it (nobody could wake it)", () => {
    const vm = lockedVm(new Set([CALLER]));
    const before = vm.snapshot();
    const out = issue(vm, 'memory', flushSpaceReq({ flags: HV_FLUSH_ALL_PROCESSORS }), CALLER);
    expect(out.status).toBe(HvStatus.SUCCESS);
    expectOnlyChanged(
      before,
      vm.snapshot(),
      Array.from({ length: vm.vcpus }, (_, i) => i),
    );
  });

  it('a flush that does not target the locked VP is not inhibited', () => {
    const vm = lockedVm(new Set([7]));
    const before = vm.snapshot();
    const out = issue(vm, 'fast', flushSpaceReq({ mask: processorMask([VP_A]) }), CALLER);
    expect(out.status).toBe(HvStatus.SUCCESS);
    expectOnlyChanged(before, vm.snapshot(), [VP_A]);
  });

  it('malformed input still gets its status before the inhibit check', () => {
    const vm = lockedVm(new Set([VP_A]));
    const out = issue(vm, 'memory', flushSpaceReq({ mask: processorMask([VP_A]), flags: 1n << 40n }), CALLER);
    expect(out.status).toBe(HvStatus.INVALID_PARAMETER);
  });

  it('IPIs are never inhibited', () => {
    const vm = new TestVm();
    for (const vp of vm.partition.vps) vm.partition.setTlbLocked(vp.index, true);
    const out = issue(
      vm,
      'fast',
      {
        control: { callCode: HvCallCode.HvCallSendSyntheticClusterIpi },
        slots: [0x40n, processorMask([VP_A])],
      },
      CALLER,
    );
    expect(out.status).toBe(HvStatus.SUCCESS);
    expect(vm.woken).toEqual([[VP_A, 0x40]]);
  });
});
