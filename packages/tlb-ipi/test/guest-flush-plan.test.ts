import { HvCallCode } from '@pvlab/hypercall';
import { VP_INVAL } from '@pvlab/hypercall/guest';
import { describe, expect, it } from 'vitest';
import { chooseFlush, type FlushRequest, type PathPlan, TLB_FLUSH_ALL } from '../src/guest/index.ts';
import { bytes, env, u64le } from './guest-fixtures.ts';

const MiB16 = 16n * 1024n * 1024n;
const PGD = 0x0012_3000n;
const range = (start: bigint, pages: bigint): FlushRequest => ({
  pgd: PGD,
  start,
  end: start + pages * 4096n,
});
const full: FlushRequest = { pgd: PGD, start: 0n, end: TLB_FLUSH_ALL };
/** CPU n = VP n, CPUs 0..7 present. */
const eight = [0, 1, 2, 3, 4, 5, 6, 7];

function hypercall(plan: PathPlan) {
  if (plan.kind !== 'hypercall') throw new Error(`expected a hypercall, got ${JSON.stringify(plan)}`);
  return plan;
}

describe('chooseFlush — which call (spec 02 rules 1–4)', () => {
  it.each([
    {
      rule: 'rule 2: target set == cpu_present_mask → 0x0002 with ALL_PROCESSORS, mask 0',
      cpus: eight,
      request: full,
      name: 'HvCallFlushVirtualAddressSpace',
      control: BigInt(HvCallCode.HvCallFlushVirtualAddressSpace),
      input: u64le(PGD, 0x1n | 0x4n, 0n),
    },
    {
      rule: 'rule 2: VPs {2, 5} → the 64-bit mask form, mask bits 2 and 5',
      cpus: [2, 5],
      request: range(0x7000_0000n, 1n),
      name: 'HvCallFlushVirtualAddressList',
      control: 0x0000_0001_0000_0003n,
      input: u64le(PGD, 0n, 0x24n, 0x7000_0000n),
    },
    {
      rule: 'rule 3: full flush → "Space" with NON_GLOBAL_MAPPINGS_ONLY',
      cpus: [1],
      request: full,
      name: 'HvCallFlushVirtualAddressSpace',
      control: BigInt(HvCallCode.HvCallFlushVirtualAddressSpace),
      input: u64le(PGD, 0x4n, 0x2n),
    },
    {
      rule: 'rule 3: kernel flush (no mm) → AddressSpace 0 + ALL_VIRTUAL_ADDRESS_SPACES',
      cpus: [3],
      request: { pgd: null, start: 0xffff_8880_0000_0000n, end: 0xffff_8880_0000_2000n },
      name: 'HvCallFlushVirtualAddressList',
      control: 0x0000_0001_0000_0003n,
      input: u64le(0n, 0x2n, 0x8n, 0xffff_8880_0000_0001n),
    },
    {
      rule: 'AddressSpace = the pgd with CR3_ADDR_MASK applied (encryption bit 63 stripped)',
      cpus: [1],
      request: { pgd: 0x8000_0000_0045_6000n, start: 0n, end: TLB_FLUSH_ALL },
      name: 'HvCallFlushVirtualAddressSpace',
      control: BigInt(HvCallCode.HvCallFlushVirtualAddressSpace),
      input: u64le(0x45_6000n, 0x4n, 0x2n),
    },
  ])('$rule', ({ cpus, request, name, control, input }) => {
    const plan = hypercall(chooseFlush(env(eight), cpus, request));
    expect(plan.name).toBe(name);
    expect(plan.control).toBe(control);
    expect(plan.input).toEqual(input);
  });

  it('rule 2 + 4 + 7: VP 65 → 0x0014 with dense banks, VariableHeaderSize = nr_bank', () => {
    // CPUs 0..2 are VPs 0, 1, 65.
    const plan = hypercall(chooseFlush(env([0, 1, 65]), [1, 2], range(0x4000n, 2n)));
    expect(plan.name).toBe('HvCallFlushVirtualAddressListEx');
    expect(plan.variableHeaderSize).toBe(2);
    expect(plan.repCount).toBe(1);
    expect(plan.control).toBe(0x0000_0001_0004_0014n);
    // AddressSpace, Flags, Format 0 (SPARSE_4K), ValidBanksMask 0x3, banks [VP 1, VP 65], GVA 0x4000 + 1 more page.
    expect(plan.input).toEqual(u64le(PGD, 0n, 0n, 0x3n, 0x2n, 0x2n, 0x4001n));
  });

  it('rule 7: banks are dense — {2, 130} sends banks 0, 1 (all-zero) and 2', () => {
    const plan = hypercall(chooseFlush(env([0, 2, 130]), [1, 2], full));
    expect(plan.name).toBe('HvCallFlushVirtualAddressSpaceEx');
    expect(plan.control).toBe(0x0006_0013n);
    expect(plan.input).toEqual(u64le(PGD, 0x4n, 0n, 0x7n, 0x4n, 0n, 0x4n));
  });

  it('rule 2: the highest CPU with VP ≥ 64 takes the Ex form even when the rest are below 64', () => {
    const plan = hypercall(chooseFlush(env([0, 1, 2, 64]), [1, 3], full));
    expect(plan.name).toBe('HvCallFlushVirtualAddressSpaceEx');
    expect(plan.input).toEqual(u64le(PGD, 0x4n, 0n, 0x3n, 0x2n, 0x1n));
  });

  it('rule 4: the Ex form never carries ALL_PROCESSORS, even for every present CPU', () => {
    const plan = hypercall(chooseFlush(env([0, 64]), [0, 1], full));
    expect(plan.name).toBe('HvCallFlushVirtualAddressSpace');
    const ex = hypercall(chooseFlush(env([0, 64]), [0, 1], full, { alwaysEx: true }));
    expect(ex.input).toEqual(u64le(PGD, 0x4n, 0n, 0x3n, 0x1n, 0x1n));
  });

  it.each([
    {
      rule: 'rule 1: RemoteTlbFlushRecommended absent → native',
      e: env(eight, { remoteTlbFlush: false }),
      cpus: [1],
      plan: { kind: 'native', reason: 'not-recommended' },
    },
    {
      rule: 'rule 2: no per-CPU input page → native',
      e: env(eight, { inputPageBytes: 0 }),
      cpus: [1],
      plan: { kind: 'native', reason: 'no-input-page' },
    },
    {
      rule: 'rule 2: a VP_INVAL target → native',
      e: env([0, 1, undefined, 3]),
      cpus: [1, 2],
      plan: { kind: 'native', reason: 'vp-inval' },
    },
    {
      rule: 'rule 4: VP ≥ 64 without ExProcessorMasks → native',
      e: env([0, 70], { exProcessorMasks: false }),
      cpus: [1],
      plan: { kind: 'native', reason: 'ex-not-recommended' },
    },
    {
      rule: 'rule 7: a VP_INVAL target on the Ex path → native',
      e: env([0, 70, undefined]),
      cpus: [1, 2],
      plan: { kind: 'native', reason: 'vp-inval' },
    },
    {
      rule: 'rule 2: empty mask → return without any call',
      e: env(eight),
      cpus: [],
      plan: { kind: 'none', reason: 'empty-mask' },
    },
  ])('$rule', ({ e, cpus, plan }) => {
    expect(chooseFlush(e, cpus, full)).toEqual(plan);
  });
});

describe('chooseFlush — GVA list vs space (spec 02 rule 3, fill_gva_list)', () => {
  const start = 0x7f00_0000_0000n;
  it.each([
    { pages: 1n, entries: [start] },
    { pages: 4n, entries: [start | 3n] },
    { pages: 4096n, entries: [start | 0xfffn] },
    { pages: 4097n, entries: [start | 0xfffn, (start + MiB16) | 0n] },
    {
      pages: 3n * 4096n + 10n,
      entries: [
        start | 0xfffn,
        (start + MiB16) | 0xfffn,
        (start + 2n * MiB16) | 0xfffn,
        (start + 3n * MiB16) | 9n,
      ],
    },
  ])('$pages pages → entries page | min(pages − 1, 4095)', ({ pages, entries }) => {
    const plan = hypercall(chooseFlush(env(eight), [1], range(start, pages)));
    expect(plan.name).toBe('HvCallFlushVirtualAddressList');
    expect(plan.repCount).toBe(entries.length);
    expect(plan.input).toEqual(bytes(u64le(PGD, 0n, 0x2n), u64le(...entries)));
  });

  it('range/16 MiB > max entries (509 in a 4 KiB page) → "Space" without NON_GLOBAL_MAPPINGS_ONLY', () => {
    const plan = hypercall(chooseFlush(env(eight), [1], { pgd: PGD, start, end: start + 510n * MiB16 }));
    expect(plan.name).toBe('HvCallFlushVirtualAddressSpace');
    expect(plan.input).toEqual(u64le(PGD, 0n, 0x2n));
  });

  it('exactly 509 × 16 MiB still fits the page: a List of 509 entries', () => {
    const plan = hypercall(chooseFlush(env(eight), [1], { pgd: PGD, start, end: start + 509n * MiB16 }));
    expect(plan.name).toBe('HvCallFlushVirtualAddressList');
    expect(plan.repCount).toBe(509);
    expect(plan.input.length).toBe(4096);
  });

  it('509 × 16 MiB + 1 page: Linux would write a 510th entry past the page; pvlab takes "Space"', () => {
    const plan = hypercall(
      chooseFlush(env(eight), [1], { pgd: PGD, start, end: start + 509n * MiB16 + 4096n }),
    );
    expect(plan.name).toBe('HvCallFlushVirtualAddressSpace');
  });

  it('the Ex list has 508 − n entries per page (spec 02 "Capacities")', () => {
    const e = env([0, 64]);
    const fits = hypercall(chooseFlush(e, [1], { pgd: PGD, start, end: start + 506n * MiB16 }));
    expect(fits.name).toBe('HvCallFlushVirtualAddressListEx');
    expect(fits.repCount).toBe(506);
    expect(fits.input.length).toBe(32 + 8 * 2 + 8 * 506);
    const over = hypercall(chooseFlush(e, [1], { pgd: PGD, start, end: start + 507n * MiB16 }));
    expect(over.name).toBe('HvCallFlushVirtualAddressSpaceEx');
    expect(over.control).toBe(0x0004_0013n);
  });

  it('a half-page input area (shared-page layout) holds (2048 − 24) / 8 = 253 entries', () => {
    const e = env(eight, { inputPageBytes: 2048 });
    expect(hypercall(chooseFlush(e, [1], { pgd: PGD, start, end: start + 253n * MiB16 })).repCount).toBe(253);
    expect(hypercall(chooseFlush(e, [1], { pgd: PGD, start, end: start + 254n * MiB16 })).name).toBe(
      'HvCallFlushVirtualAddressSpace',
    );
  });

  it('an end below the start is a huge unsigned range in C → "Space"', () => {
    const plan = hypercall(chooseFlush(env(eight), [1], { pgd: PGD, start: 0x5000n, end: 0x4000n }));
    expect(plan.name).toBe('HvCallFlushVirtualAddressSpace');
  });
});

describe('chooseFlush — the historical hv_vp_index[] bugs (spec 02 rule 8)', () => {
  it('without the VP_INVAL test, −1 passes `>= 64` and __set_bit(−1) sets Flags bit 63: the CPU is left out', () => {
    const plan = hypercall(chooseFlush(env([0, 1, undefined], { vpInvalCheck: false }), [1, 2], full));
    expect(plan.name).toBe('HvCallFlushVirtualAddressSpace');
    expect(plan.input).toEqual(u64le(PGD, 0x8000_0000_0000_0004n, 0x2n));
  });

  it('without the test, a set of only not-yet-online CPUs has an empty mask → no call at all', () => {
    expect(chooseFlush(env([0, undefined], { vpInvalCheck: false }), [1], full)).toEqual({
      kind: 'none',
      reason: 'empty-mask',
    });
  });

  it('without the test, the Ex path drops the CPU too (bank[−1] is ValidBanksMask, written after)', () => {
    const plan = hypercall(chooseFlush(env([0, 65, undefined], { vpInvalCheck: false }), [1, 2], full));
    expect(plan.input).toEqual(u64le(PGD, 0x4n, 0n, 0x3n, 0n, 0x2n));
  });

  it('a zero-filled table (no VP_INVAL at all) names VP 0 for a CPU that is not online', () => {
    const plan = hypercall(chooseFlush(env([0, 1, 0]), [1, 2], full));
    expect(plan.input).toEqual(u64le(PGD, 0x4n, 0x3n));
  });

  it('VP_INVAL is U32_MAX', () => {
    expect(VP_INVAL).toBe(0xffff_ffff);
  });
});
