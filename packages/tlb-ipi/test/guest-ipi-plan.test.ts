import { HvCallCode } from '@pvlab/hypercall';
import { type GuestContext, GuestHypercalls, type HyperVInfo } from '@pvlab/hypercall/guest';
import { describe, expect, it } from 'vitest';
import { chooseIpi, hvCpuEnv, type PathPlan } from '../src/guest/index.ts';
import { bytes, env, u64le, vectorHeader } from './guest-fixtures.ts';

const eight = [0, 1, 2, 3, 4, 5, 6, 7];

function hypercall(plan: PathPlan) {
  if (plan.kind !== 'hypercall') throw new Error(`expected a hypercall, got ${JSON.stringify(plan)}`);
  return plan;
}

describe('chooseIpi — HvCallSendSyntheticClusterIpi 0x000B (spec 02 rule 5)', () => {
  it('VPs {2, 5} → XMM-less fast 0x000B: RDX = vector, R8 = mask bits 2 and 5', () => {
    const plan = hypercall(chooseIpi(env(eight), [2, 5], 0xf2));
    expect(plan.name).toBe('HvCallSendSyntheticClusterIpi');
    expect(plan.fast).toBe(true);
    expect(plan.control).toBe(0x1_000bn);
    expect(plan.registers).toEqual([0xf2n, 0x24n]);
    // The 16-byte input (RDX‖R8): u32 Vector, u8 TargetVtl 0, u8 flags 0, u16 reserved, u64 ProcessorMask.
    expect(plan.input).toEqual(bytes(vectorHeader(0xf2), u64le(0x24n)));
  });

  it('every present CPU with all VPs below 64 stays the mask form (ALL is an Ex-only format)', () => {
    expect(hypercall(chooseIpi(env(eight), eight, 0x40)).registers).toEqual([0x40n, 0xffn]);
  });

  it('excludeSelf leaves this CPU out of the mask', () => {
    expect(
      hypercall(chooseIpi(env(eight, { self: 3 }), eight, 0x40, { excludeSelf: true })).registers,
    ).toEqual([0x40n, 0xf7n]);
  });

  it.each([
    [0x10, true],
    [0xff, true],
    [0x0f, false],
    [0x100, false],
  ])('vector 0x%s is in 0x10–0xFF: %s (else native)', (vector, ok) => {
    const plan = chooseIpi(env(eight), [1], vector);
    expect(plan.kind).toBe(ok ? 'hypercall' : 'native');
    if (!ok) expect(plan).toEqual({ kind: 'native', reason: 'vector-out-of-range' });
  });

  it.each([
    {
      rule: 'rule 1: ClusterIpiRecommended absent → native',
      e: env(eight, { clusterIpi: false }),
      cpus: [1],
      options: {},
      plan: { kind: 'native', reason: 'not-recommended' },
    },
    {
      rule: 'rule 5: empty mask → done, no call',
      e: env(eight),
      cpus: [],
      options: {},
      plan: { kind: 'none', reason: 'empty-mask' },
    },
    {
      rule: 'rule 5: only self with excludeSelf → done, no call',
      e: env(eight, { self: 2 }),
      cpus: [2],
      options: { excludeSelf: true },
      plan: { kind: 'none', reason: 'only-self' },
    },
    {
      rule: 'rule 5: any VP_INVAL → native',
      e: env([0, 1, undefined]),
      cpus: [1, 2],
      options: {},
      plan: { kind: 'native', reason: 'vp-inval' },
    },
    {
      rule: 'rule 5: no hypercall page → native',
      e: env(eight, { inputPageBytes: 0 }),
      cpus: [1],
      options: {},
      plan: { kind: 'native', reason: 'no-input-page' },
    },
    {
      rule: 'rule 6: VP ≥ 64, the hypercall page but no input page yet (before hv_common_cpu_init) → native',
      e: env([0, 1, 64], { inputPageBytes: 0, hypercallPage: true }),
      cpus: [2],
      options: {},
      plan: { kind: 'native', reason: 'no-input-page' },
    },
    {
      rule: 'rule 6: VP ≥ 64 without ExProcessorMasks → native',
      e: env([0, 64], { exProcessorMasks: false }),
      cpus: [1],
      options: {},
      plan: { kind: 'native', reason: 'ex-not-recommended' },
    },
  ])('$rule', ({ e, cpus, options, plan }) => {
    expect(chooseIpi(e, cpus, 0xf2, options)).toEqual(plan);
  });
});

describe('chooseIpi — a CPU with the hypercall page but no input page yet (Linux 6.12 __send_ipi_mask)', () => {
  it('VPs below 64 → the fast 0x000B call, which needs no input page', () => {
    const plan = hypercall(chooseIpi(env(eight, { inputPageBytes: 0, hypercallPage: true }), [1, 3], 0xf2));
    expect(plan.name).toBe('HvCallSendSyntheticClusterIpi');
    expect(plan.fast).toBe(true);
  });

  it('hvCpuEnv: hypercall helpers over no input area mean the hypercall page and no input page', () => {
    const info = { has: () => true } as unknown as HyperVInfo;
    const vpIndex = { get: (cpu: number) => cpu, maxVpIndex: () => 7 };
    const noPages = { inputGpa: 0n, outputGpa: 0n, inputBytes: 0, outputBytes: 0 };
    const ctx = {} as GuestContext; // the helpers are not called: only their areas are read
    const up = hvCpuEnv({
      self: 0,
      presentCpus: 8,
      vpIndex,
      info,
      hypercalls: new GuestHypercalls(ctx, noPages),
    });
    expect([up.hypercallPage, up.inputPageBytes]).toEqual([true, 0]);
    expect(hypercall(chooseIpi(up, [1], 0xf2)).name).toBe('HvCallSendSyntheticClusterIpi');
    const none = hvCpuEnv({ self: 0, presentCpus: 8, vpIndex, info, hypercalls: undefined });
    expect(none.hypercallPage).toBe(false);
    expect(chooseIpi(none, [1], 0xf2)).toEqual({ kind: 'native', reason: 'no-input-page' });
  });
});

describe('chooseIpi — HvCallSendSyntheticClusterIpiEx 0x0015 (spec 02 rules 6, 7)', () => {
  it('VP 65 → 0x0015 through the input page, dense banks, VariableHeaderSize = nr_bank', () => {
    const plan = hypercall(chooseIpi(env([0, 1, 65]), [1, 2], 0xf2));
    expect(plan.name).toBe('HvCallSendSyntheticClusterIpiEx');
    expect(plan.fast).toBe(false);
    expect(plan.variableHeaderSize).toBe(2);
    expect(plan.control).toBe(0x4_0015n);
    // Vector, TargetVtl + pad, Format 0, ValidBanksMask 0x3, banks [VP 1, VP 65].
    expect(plan.input).toEqual(bytes(vectorHeader(0xf2), u64le(0n, 0x3n, 0x2n, 0x2n)));
  });

  it('mask == cpu_present_mask and not excluding self → HV_GENERIC_SET_ALL with 0 banks', () => {
    const plan = hypercall(chooseIpi(env([0, 1, 65]), [0, 1, 2], 0xf2));
    expect(plan.control).toBe(BigInt(HvCallCode.HvCallSendSyntheticClusterIpiEx));
    expect(plan.input).toEqual(bytes(vectorHeader(0xf2), u64le(1n, 0n)));
  });

  it('mask == cpu_present_mask but excluding self → SPARSE_4K without this CPU', () => {
    const plan = hypercall(chooseIpi(env([0, 1, 65], { self: 1 }), [0, 1, 2], 0xf2, { excludeSelf: true }));
    expect(plan.input).toEqual(bytes(vectorHeader(0xf2), u64le(0n, 0x3n, 0x1n, 0x2n)));
  });

  it('rule 7: a VP_INVAL target makes cpumask_to_vpset return −1 → native', () => {
    expect(chooseIpi(env([0, 65, undefined]), [1, 2], 0xf2)).toEqual({ kind: 'native', reason: 'vp-inval' });
  });

  it('rule 7: hv_max_vp_index needing more than 64 banks makes nr_bank 0 → native', () => {
    expect(chooseIpi(env([0, 65, 4096]), [1], 0xf2)).toEqual({
      kind: 'native',
      reason: 'vp-set-unrepresentable',
    });
  });

  it('{0, 5, 130} is Format 0, ValidBanksMask 0x7 (dense), banks [0x21, 0, 0x4]', () => {
    const plan = hypercall(chooseIpi(env([0, 5, 130, 7]), [0, 1, 2], 0x30));
    expect(plan.input).toEqual(bytes(vectorHeader(0x30), u64le(0n, 0x7n, 0x21n, 0n, 0x4n)));
  });
});

describe('chooseIpi — the historical hv_vp_index[] bugs (spec 02 rule 8)', () => {
  it('without the VP_INVAL test the not-yet-online CPU silently drops out of the mask', () => {
    const plan = hypercall(chooseIpi(env([0, 1, undefined], { vpInvalCheck: false }), [1, 2], 0xf2));
    expect(plan.registers).toEqual([0xf2n, 0x2n]);
  });

  it('a zero-filled table sends the IPI to VP 0 instead', () => {
    const plan = hypercall(chooseIpi(env([0, 1, 0], { self: 1 }), [2], 0xf2));
    expect(plan.registers).toEqual([0xf2n, 0x1n]);
  });
});
