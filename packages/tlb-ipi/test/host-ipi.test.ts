import { HvCallCode, type HvFeatureName, HvStatus, type HvStatusCode, hvStatusName } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import {
  expectNothingChanged,
  expectOnlyChanged,
  FORMS,
  type Form,
  INPUT_GPA,
  ipiExReq,
  ipiReq,
  issue,
  processorMask,
  type Req,
  TestVm,
  titled,
  VCPUS,
  VP_A,
  VP_B,
} from './host-fixtures.ts';

const ALL_VPS = Array.from({ length: VCPUS }, (_, i) => i);
const VECTOR = 0xfe;

interface IpiCase {
  readonly what: string;
  readonly req: Req;
  readonly status: HvStatusCode;
  /** VPs that must receive the vector; every other VP must receive nothing. */
  readonly receivers: readonly number[];
  readonly vector?: number;
  readonly drop?: readonly HvFeatureName[];
  readonly forms?: readonly Form[];
  /** The sending VP (default 1). */
  readonly sender?: number;
}

function runIpiCases(name: string, cases: readonly IpiCase[]): void {
  const rows = cases.flatMap((c) => (c.forms ?? FORMS).map((form) => ({ ...c, form })));
  it.each(titled(rows, (r) => `${r.form}: ${r.what} → ${hvStatusName(r.status)}`))('%s', (_t, r) => {
    const vm = new TestVm({ drop: r.drop ?? [] });
    vm.fillAll();
    const before = vm.snapshot();
    const out = issue(vm, r.form, r.req, r.sender ?? 1);
    expect(hvStatusName(out.status)).toBe(hvStatusName(r.status));
    expect(out.reps).toBe(0);
    const after = vm.snapshot();
    expectOnlyChanged(before, after, r.receivers);
    for (const vp of r.receivers) expect(after[vp]!.vectors).toEqual([r.vector ?? VECTOR]);
    // Each delivery went through deliverInterrupt, whose listeners wake a halted vCPU.
    expect(vm.woken).toEqual(r.receivers.map((vp) => [vp, r.vector ?? VECTOR]));
    for (const vp of r.receivers) expect(vm.partition.interrupts.take(vp)).toEqual([r.vector ?? VECTOR]);
  });
  it(`${name}: INVALID_ALIGNMENT for an input GPA that is not 8-byte aligned (spec 01 rule 4, dispatcher)`, () => {
    const vm = new TestVm();
    const before = vm.snapshot();
    expect(issue(vm, 'memory', cases[0]!.req, 1, INPUT_GPA + 4n).status).toBe(HvStatus.INVALID_ALIGNMENT);
    expectNothingChanged(before, vm.snapshot());
  });
  it(`${name}: an input list outside RAM is a memory intercept (spec 01 rule 7, dispatcher)`, () => {
    const vm = new TestVm();
    expect(() => issue(vm, 'memory', cases[0]!.req, 1, 0x10_0000n)).toThrow(
      expect.objectContaining({ vector: 'MEMORY' }),
    );
    expect(vm.woken).toEqual([]);
  });
}

describe('HvCallSendSyntheticClusterIpi (0x000B)', () => {
  runIpiCases('0x000B', [
    {
      what: 'ProcessorMask {2, 63}: both get the vector, every other VP nothing',
      req: ipiReq({ vector: VECTOR, mask: processorMask([VP_A, 63]) }),
      status: HvStatus.SUCCESS,
      receivers: [VP_A, 63],
    },
    {
      what: 'the sender is included when named (rule 13)',
      req: ipiReq({ vector: VECTOR, mask: processorMask([1]) }),
      status: HvStatus.SUCCESS,
      receivers: [1],
    },
    {
      what: 'vector 0x10, the lowest valid one (TLFS 0x10 ≤ vector ≤ 0xFF)',
      req: ipiReq({ vector: 0x10, mask: processorMask([VP_A]) }),
      status: HvStatus.SUCCESS,
      receivers: [VP_A],
      vector: 0x10,
    },
    {
      what: 'vector 0xFF, the highest valid one',
      req: ipiReq({ vector: 0xff, mask: processorMask([VP_A]) }),
      status: HvStatus.SUCCESS,
      receivers: [VP_A],
      vector: 0xff,
    },
    {
      what: 'ProcessorMask 0: nobody, successfully',
      req: ipiReq({ vector: VECTOR, mask: 0n }),
      status: HvStatus.SUCCESS,
      receivers: [],
    },
    {
      what: 'ClusterIpiRecommended not exposed (rule 9)',
      req: ipiReq({ vector: VECTOR, mask: processorMask([VP_A]) }),
      drop: ['ClusterIpiRecommended'],
      status: HvStatus.ACCESS_DENIED,
      receivers: [],
    },
    {
      what: 'RepCount ≠ 0 on a simple call (rule 10)',
      req: ipiReq({ vector: VECTOR, mask: processorMask([VP_A]) }, { repCount: 1 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      receivers: [],
    },
    {
      what: 'VariableHeaderSize ≠ 0 (rule 10)',
      req: ipiReq({ vector: VECTOR, mask: processorMask([VP_A]) }, { variableHeaderSize: 1 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      receivers: [],
    },
    {
      what: 'vector 0x0F, below 0x10 (rule 13: pvlab follows openvmm)',
      req: ipiReq({ vector: 0x0f, mask: processorMask([VP_A]) }),
      status: HvStatus.INVALID_PARAMETER,
      receivers: [],
    },
    {
      what: 'vector 0x100, above 0xFF (rule 13)',
      req: ipiReq({ vector: 0x100, mask: processorMask([VP_A]) }),
      status: HvStatus.INVALID_PARAMETER,
      receivers: [],
    },
    {
      what: 'TargetVtl ≠ 0 (fast: RDX[63:32] ≠ 0; pvlab models VTL 0 only)',
      req: ipiReq({ vector: VECTOR, vtlBytes: 0x11, mask: processorMask([VP_A]) }),
      status: HvStatus.INVALID_PARAMETER,
      receivers: [],
    },
    {
      what: 'the MBZ flags byte 5 set (rule 13, openvmm)',
      req: ipiReq({ vector: VECTOR, vtlBytes: 0x100, mask: processorMask([VP_A]) }),
      status: HvStatus.INVALID_PARAMETER,
      receivers: [],
    },
    {
      what: 'the reserved u16 at 6 set (rule 13, openvmm)',
      req: ipiReq({ vector: VECTOR, vtlBytes: 0x8000_0000, mask: processorMask([VP_A]) }),
      status: HvStatus.INVALID_PARAMETER,
      receivers: [],
    },
  ]);

  it('fast: RDX = Vector | TargetVtl << 32, R8 = ProcessorMask; no XMM needed (spec 02 "Fast register use")', () => {
    const vm = new TestVm({ drop: ['XmmFastHypercallInput', 'XmmFastHypercallOutput'] });
    const out = vm.call('fast', 0, { callCode: HvCallCode.HvCallSendSyntheticClusterIpi }, [0x30n, 1n << 2n]);
    expect(out.status).toBe(HvStatus.SUCCESS);
    expect(vm.partition.interrupts.take(VP_A)).toEqual([0x30]);
  });
});

describe('HvCallSendSyntheticClusterIpiEx (0x0015)', () => {
  runIpiCases('0x0015', [
    {
      what: 'HV_VP_SET {2, 65} across the bank boundary: both get the vector, nobody else',
      req: ipiExReq({ vector: VECTOR, vps: [VP_A, VP_B] }),
      status: HvStatus.SUCCESS,
      receivers: [VP_A, VP_B],
    },
    {
      what: 'HV_GENERIC_SET_ALL (Format 1, no banks): every VP, the sender included',
      req: ipiExReq({ vector: VECTOR, format: 1n }),
      status: HvStatus.SUCCESS,
      receivers: ALL_VPS,
    },
    {
      what: 'an empty sparse set (no banks) is a no-op (rule 11)',
      req: ipiExReq({ vector: VECTOR, vps: [] }),
      status: HvStatus.SUCCESS,
      receivers: [],
    },
    {
      what: "Linux's empty set, one all-zero bank, is a no-op",
      req: ipiExReq({ vector: VECTOR, mask: 1n, banks: [0n] }),
      status: HvStatus.SUCCESS,
      receivers: [],
    },
    {
      what: 'banks naming VPs beyond the VM (VP 130, 4095) are ignored',
      req: ipiExReq({ vector: VECTOR, vps: [VP_B, 130, 4095] }),
      status: HvStatus.SUCCESS,
      receivers: [VP_B],
    },
    {
      what: 'vector 0x10',
      req: ipiExReq({ vector: 0x10, vps: [VP_B] }),
      status: HvStatus.SUCCESS,
      receivers: [VP_B],
      vector: 0x10,
    },
    {
      what: 'vector 0xFF',
      req: ipiExReq({ vector: 0xff, vps: [VP_B] }),
      status: HvStatus.SUCCESS,
      receivers: [VP_B],
      vector: 0xff,
    },
    {
      what: 'ClusterIpiRecommended not exposed (rule 9)',
      req: ipiExReq({ vector: VECTOR, vps: [VP_A, VP_B] }),
      drop: ['ClusterIpiRecommended'],
      status: HvStatus.ACCESS_DENIED,
      receivers: [],
    },
    {
      what: 'ExProcessorMasksRecommended not exposed (rule 9)',
      req: ipiExReq({ vector: VECTOR, vps: [VP_A, VP_B] }),
      drop: ['ExProcessorMasksRecommended'],
      status: HvStatus.ACCESS_DENIED,
      receivers: [],
    },
    {
      what: 'VariableHeaderSize 1 ≠ popcount(ValidBanksMask) 2 (rule 11)',
      req: ipiExReq({ vector: VECTOR, vps: [VP_A, VP_B], varHdr: 1 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      receivers: [],
    },
    {
      what: 'RepCount ≠ 0 on a simple call (rule 10)',
      req: ipiExReq({ vector: VECTOR, vps: [VP_A] }, { repCount: 1 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      receivers: [],
    },
    {
      what: 'vector 0x0F (rule 13)',
      req: ipiExReq({ vector: 0x0f, vps: [VP_A, VP_B] }),
      status: HvStatus.INVALID_PARAMETER,
      receivers: [],
    },
    {
      what: 'vector 0x100 (rule 13)',
      req: ipiExReq({ vector: 0x100, vps: [VP_A, VP_B] }),
      status: HvStatus.INVALID_PARAMETER,
      receivers: [],
    },
    {
      what: 'TargetVtl ≠ 0 (pvlab models VTL 0 only)',
      req: ipiExReq({ vector: VECTOR, vtlBytes: 0x11, vps: [VP_A] }),
      status: HvStatus.INVALID_PARAMETER,
      receivers: [],
    },
    {
      what: 'Format 2 (neither SPARSE_4K nor ALL; KVM reads it as sparse, rule 11)',
      req: ipiExReq({ vector: VECTOR, format: 2n, vps: [VP_A] }),
      status: HvStatus.INVALID_PARAMETER,
      receivers: [],
    },
  ]);

  it('fast: RDX = Vector, R8 = Format, XMM0.lo = ValidBanksMask, banks from XMM0.hi (spec 02 "Fast register use")', () => {
    const vm = new TestVm();
    const out = vm.call(
      'fast',
      0,
      { callCode: HvCallCode.HvCallSendSyntheticClusterIpiEx, variableHeaderSize: 2 },
      [BigInt(VECTOR), 0n, 0b11n, 1n << 2n, 1n << 1n],
    );
    expect(out.status).toBe(HvStatus.SUCCESS);
    expect(vm.woken).toEqual([
      [VP_A, VECTOR],
      [VP_B, VECTOR],
    ]);
  });

  it('fast: 11 banks fit (spec 02 "Capacities"); 12 → INVALID_HYPERCALL_INPUT', () => {
    const vm = new TestVm({ vcpus: 4096 });
    const vps = (n: number) => Array.from({ length: n }, (_, b) => 64 * b + 1);
    expect(issue(vm, 'fast', ipiExReq({ vector: VECTOR, vps: vps(11) })).status).toBe(HvStatus.SUCCESS);
    expect(vm.woken.map(([vp]) => vp)).toEqual(vps(11));
    const req = ipiExReq({ vector: VECTOR, vps: vps(12) });
    expect(vm.call('fast', 0, req.control, req.slots.slice(0, 14)).status).toBe(
      HvStatus.INVALID_HYPERCALL_INPUT,
    );
  });

  it('a 4096-VP VM: a memory-form set of all 64 banks reaches VP 4095', () => {
    const vm = new TestVm({ vcpus: 4096 });
    const out = issue(vm, 'memory', ipiExReq({ vector: VECTOR, vps: [0, 2, 65, 4095] }));
    expect(out.status).toBe(HvStatus.SUCCESS);
    expect(vm.woken.map(([vp]) => vp)).toEqual([0, 2, 65, 4095]);
  });

  it('the host counts IPIs and deliveries', () => {
    const vm = new TestVm();
    issue(vm, 'memory', ipiExReq({ vector: VECTOR, vps: [VP_A, VP_B] }));
    issue(vm, 'fast', ipiReq({ vector: VECTOR, mask: 1n }));
    issue(vm, 'fast', ipiReq({ vector: 1, mask: 1n }));
    expect(vm.state.counters).toMatchObject({ ipis: 2, interruptsDelivered: 3 });
  });
});
