import {
  GuestFault,
  HvCallCode,
  type HvFeatureName,
  HvStatus,
  type HvStatusCode,
  hvStatusName,
} from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import {
  HV_FLUSH_ALL_PROCESSORS,
  HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES,
  HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
  HV_FLUSH_USE_EXTENDED_RANGE_FORMAT,
} from '../src/wire/flush.ts';
import {
  expectNothingChanged,
  expectOnlyChanged,
  FORMS,
  type Form,
  flushListExReq,
  flushListReq,
  flushSpaceExReq,
  flushSpaceReq,
  INPUT_GPA,
  issue,
  processorMask,
  type Req,
  SPACE_A,
  SPACE_B,
  standardKeysWithout,
  TestVm,
  titled,
  VCPUS,
  VP_A,
  VP_B,
} from './host-fixtures.ts';

const ALL_VPS = Array.from({ length: VCPUS }, (_, i) => i);
/** Two 4 KiB pages from GVA 0x100000 (simple format: AdditionalPages = 1). */
const TWO_PAGES = 0x10_0000n | 1n;
/** An extended large-page entry with reserved bits 20:13 set: not a valid range. */
const BAD_EXTENDED = (1n << 11n) | (1n << 13n);

interface StatusCase {
  /** What the case shows, quoting the spec rule. */
  readonly what: string;
  readonly req: Req;
  readonly status: HvStatusCode;
  /** VPs whose TLB must change; every other VP must stay untouched. */
  readonly changed: readonly number[];
  readonly drop?: readonly HvFeatureName[];
  /** RepsCompleted expected (default: RepCount on SUCCESS, 0 otherwise). */
  readonly reps?: number;
  readonly forms?: readonly Form[];
}

function runStatusCases(name: string, cases: readonly StatusCase[]): void {
  const rows = cases.flatMap((c) => (c.forms ?? FORMS).map((form) => ({ ...c, form })));
  it.each(titled(rows, (r) => `${r.form}: ${r.what} → ${hvStatusName(r.status)}`))('%s', (_t, r) => {
    const vm = new TestVm({ drop: r.drop ?? [] });
    vm.fillAll();
    const before = vm.snapshot();
    const out = issue(vm, r.form, r.req, 1);
    const repCount = r.req.control.repCount ?? 0;
    expect({ status: hvStatusName(out.status), reps: out.reps }).toEqual({
      status: hvStatusName(r.status),
      reps: r.reps ?? (r.status === HvStatus.SUCCESS ? repCount : 0),
    });
    expectOnlyChanged(before, vm.snapshot(), r.changed);
  });
  it(`${name}: INVALID_ALIGNMENT for an input GPA that is not 8-byte aligned (spec 01 rule 4, dispatcher)`, () => {
    const vm = new TestVm();
    vm.fillAll();
    const before = vm.snapshot();
    const req = cases[0]!.req;
    expect(issue(vm, 'memory', req, 1, INPUT_GPA + 4n).status).toBe(HvStatus.INVALID_ALIGNMENT);
    expectNothingChanged(before, vm.snapshot());
  });
  it(`${name}: an input list outside RAM is a memory intercept (spec 01 rule 7, dispatcher)`, () => {
    const vm = new TestVm();
    const before = vm.snapshot();
    const req = cases[0]!.req;
    let fault: unknown;
    try {
      issue(vm, 'memory', req, 1, 0x10_0000n);
    } catch (e) {
      fault = e;
    }
    expect(fault).toBeInstanceOf(GuestFault);
    expect((fault as GuestFault).vector).toBe('MEMORY');
    expectNothingChanged(before, vm.snapshot());
  });
}

describe('HvCallFlushVirtualAddressSpace (0x0002)', () => {
  runStatusCases('0x0002', [
    {
      what: 'ProcessorMask {2}: VP 2 flushed, VP 65 and every other VP untouched',
      req: flushSpaceReq({ mask: processorMask([VP_A]) }),
      status: HvStatus.SUCCESS,
      changed: [VP_A],
    },
    {
      what: 'HV_FLUSH_ALL_PROCESSORS reaches VP 65 and VP 129 beyond the mask',
      req: flushSpaceReq({ flags: HV_FLUSH_ALL_PROCESSORS, mask: processorMask([VP_A]) }),
      status: HvStatus.SUCCESS,
      changed: ALL_VPS,
    },
    {
      what: 'ProcessorMask 0 without ALL_PROCESSORS flushes nobody (pvlab; KVM flushes all, rule 12)',
      req: flushSpaceReq({ mask: 0n }),
      status: HvStatus.SUCCESS,
      changed: [],
    },
    {
      what: 'RemoteTlbFlushRecommended not exposed (rule 9)',
      req: flushSpaceReq({ mask: processorMask([VP_A]) }),
      drop: ['RemoteTlbFlushRecommended'],
      status: HvStatus.ACCESS_DENIED,
      changed: [],
    },
    {
      what: 'RepCount ≠ 0 on a simple call (rule 10)',
      req: flushSpaceReq({ mask: processorMask([VP_A]) }, { repCount: 1 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      changed: [],
    },
    {
      what: 'VariableHeaderSize ≠ 0 (rule 10)',
      req: flushSpaceReq({ mask: processorMask([VP_A]) }, { variableHeaderSize: 1 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      changed: [],
    },
    {
      what: 'USE_EXTENDED_RANGE_FORMAT on a Space call (rule 18)',
      req: flushSpaceReq({ flags: HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, mask: processorMask([VP_A]) }),
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
    {
      what: 'an undefined flag bit (bit 4, openvmm UseTargetVtl) (rule 18)',
      req: flushSpaceReq({ flags: 0x10n, mask: processorMask([VP_A]) }),
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
    {
      what: 'flag bit 63 (rule 18)',
      req: flushSpaceReq({ flags: 1n << 63n, mask: processorMask([VP_A]) }),
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
  ]);
});

describe('HvCallFlushVirtualAddressList (0x0003)', () => {
  runStatusCases('0x0003', [
    {
      what: 'ProcessorMask {2}, one range: VP 2 flushed, every other VP untouched',
      req: flushListReq({ mask: processorMask([VP_A]) }, [TWO_PAGES]),
      status: HvStatus.SUCCESS,
      changed: [VP_A],
    },
    {
      what: 'HV_FLUSH_ALL_PROCESSORS reaches every VP',
      req: flushListReq({ flags: HV_FLUSH_ALL_PROCESSORS }, [TWO_PAGES]),
      status: HvStatus.SUCCESS,
      changed: ALL_VPS,
    },
    {
      what: 'RemoteTlbFlushRecommended not exposed (rule 9)',
      req: flushListReq({ mask: processorMask([VP_A]) }, [TWO_PAGES]),
      drop: ['RemoteTlbFlushRecommended'],
      status: HvStatus.ACCESS_DENIED,
      changed: [],
    },
    {
      what: 'RepCount = 0 (rule 10)',
      req: flushListReq({ mask: processorMask([VP_A]) }, [TWO_PAGES], { repCount: 0 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      changed: [],
    },
    {
      what: 'VariableHeaderSize ≠ 0 (rule 10)',
      req: flushListReq({ mask: processorMask([VP_A]) }, [TWO_PAGES], { variableHeaderSize: 1 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      changed: [],
    },
    {
      what: 'an undefined flag bit (rule 18)',
      req: flushListReq({ flags: 0x100n, mask: processorMask([VP_A]) }, [TWO_PAGES]),
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
    {
      what: 'USE_EXTENDED_RANGE_FORMAT while ExtendedGvaRangesForFlush is not exposed',
      req: flushListReq({ flags: HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, mask: processorMask([VP_A]) }, [
        TWO_PAGES,
      ]),
      drop: ['ExtendedGvaRangesForFlush'],
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
    {
      what: 'an extended large-page range with reserved bits 20:13 set, after one good range',
      req: flushListReq({ flags: HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, mask: processorMask([VP_A]) }, [
        TWO_PAGES,
        BAD_EXTENDED,
      ]),
      status: HvStatus.INVALID_PARAMETER,
      reps: 1,
      changed: [VP_A],
    },
  ]);

  it('fast: at most 11 ranges fit after RDX, R8 and XMM0.lo (spec 02 "Capacities"); 12 → INVALID_HYPERCALL_INPUT', () => {
    const vm = new TestVm();
    const ranges = (n: number) => Array.from({ length: n }, (_, i) => 0x10_0000n + BigInt(i) * 0x1000n);
    expect(issue(vm, 'fast', flushListReq({ mask: 4n }, ranges(11))).status).toBe(HvStatus.SUCCESS);
    vm.fillAll();
    const before = vm.snapshot();
    const req = flushListReq({ mask: 4n }, ranges(12));
    // Twelve ranges need 15 slots; the registers hold 14, so the call is built by hand.
    const out = vm.call('fast', 0, req.control, req.slots.slice(0, 14));
    expect(out.status).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expectNothingChanged(before, vm.snapshot());
  });

  it('fast without XmmFastHypercallInput exposed: #UD (spec 01 rule 13, dispatcher)', () => {
    const vm = new TestVm({ drop: ['XmmFastHypercallInput'] });
    expect(() => issue(vm, 'fast', flushListReq({ mask: 4n }, [TWO_PAGES]))).toThrow(
      expect.objectContaining({ vector: 'UD' }),
    );
  });
});

describe('HvCallFlushVirtualAddressSpaceEx (0x0013)', () => {
  runStatusCases('0x0013', [
    {
      what: 'HV_VP_SET {2, 65} across the bank boundary: both flushed, every other VP untouched',
      req: flushSpaceExReq({ vps: [VP_A, VP_B] }),
      status: HvStatus.SUCCESS,
      changed: [VP_A, VP_B],
    },
    {
      what: 'HV_GENERIC_SET_ALL (Format 1, no banks) reaches every VP',
      req: flushSpaceExReq({ format: 1n }),
      status: HvStatus.SUCCESS,
      changed: ALL_VPS,
    },
    {
      what: 'HV_FLUSH_ALL_PROCESSORS overrides the set',
      req: flushSpaceExReq({ flags: HV_FLUSH_ALL_PROCESSORS, vps: [VP_A] }),
      status: HvStatus.SUCCESS,
      changed: ALL_VPS,
    },
    {
      what: 'an empty sparse set (no banks) is a no-op (rule 11)',
      req: flushSpaceExReq({ vps: [] }),
      status: HvStatus.SUCCESS,
      changed: [],
    },
    {
      what: "Linux's empty set, one all-zero bank, is a no-op (rule 7)",
      req: flushSpaceExReq({ mask: 1n, banks: [0n] }),
      status: HvStatus.SUCCESS,
      changed: [],
    },
    {
      what: 'banks naming VPs beyond the VM (VP 200, 4095) are ignored',
      req: flushSpaceExReq({ vps: [VP_B, 200, 4095] }),
      status: HvStatus.SUCCESS,
      changed: [VP_B],
    },
    {
      what: 'RemoteTlbFlushRecommended not exposed (rule 9)',
      req: flushSpaceExReq({ vps: [VP_A, VP_B] }),
      drop: ['RemoteTlbFlushRecommended'],
      status: HvStatus.ACCESS_DENIED,
      changed: [],
    },
    {
      what: 'ExProcessorMasksRecommended not exposed (rule 9)',
      req: flushSpaceExReq({ vps: [VP_A, VP_B] }),
      drop: ['ExProcessorMasksRecommended'],
      status: HvStatus.ACCESS_DENIED,
      changed: [],
    },
    {
      what: 'VariableHeaderSize 1 ≠ popcount(ValidBanksMask) 2 (rule 11)',
      req: flushSpaceExReq({ vps: [VP_A, VP_B], varHdr: 1 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      changed: [],
    },
    {
      what: 'HV_GENERIC_SET_ALL with VariableHeaderSize 1 ≠ popcount(0) (rule 11)',
      req: flushSpaceExReq({ format: 1n, varHdr: 1 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      changed: [],
    },
    {
      what: 'RepCount ≠ 0 on a simple call (rule 10)',
      req: flushSpaceExReq({ vps: [VP_A] }, { repCount: 1 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      changed: [],
    },
    {
      what: 'Format 2 (neither SPARSE_4K nor ALL)',
      req: flushSpaceExReq({ format: 2n, vps: [VP_A] }),
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
    {
      what: 'USE_EXTENDED_RANGE_FORMAT on a Space call (rule 18)',
      req: flushSpaceExReq({ flags: HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, vps: [VP_A] }),
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
  ]);

  it('fast: the set fills XMM0 = {Format, ValidBanksMask}, banks from XMM1.lo (spec 02 "Fast register use")', () => {
    const vm = new TestVm();
    vm.fillAll();
    const before = vm.snapshot();
    // RDX = AddressSpace, R8 = Flags, XMM0 = {0, 0b11}, XMM1.lo = bank 0 {2}, XMM1.hi = bank 1 {65}.
    const out = vm.call(
      'fast',
      0,
      { callCode: HvCallCode.HvCallFlushVirtualAddressSpaceEx, variableHeaderSize: 2 },
      [SPACE_A, 0n, 0n, 0b11n, 1n << 2n, 1n << 1n],
    );
    expect(out.status).toBe(HvStatus.SUCCESS);
    expectOnlyChanged(before, vm.snapshot(), [VP_A, VP_B]);
  });
});

describe('HvCallFlushVirtualAddressListEx (0x0014)', () => {
  runStatusCases('0x0014', [
    {
      what: 'HV_VP_SET {2, 65}: both flushed, every other VP untouched',
      req: flushListExReq({ vps: [VP_A, VP_B] }, [TWO_PAGES]),
      status: HvStatus.SUCCESS,
      changed: [VP_A, VP_B],
    },
    {
      what: 'HV_GENERIC_SET_ALL reaches every VP',
      req: flushListExReq({ format: 1n }, [TWO_PAGES]),
      status: HvStatus.SUCCESS,
      changed: ALL_VPS,
    },
    {
      what: 'an empty sparse set is a no-op (rule 11)',
      req: flushListExReq({ vps: [] }, [TWO_PAGES]),
      status: HvStatus.SUCCESS,
      changed: [],
    },
    {
      what: 'RemoteTlbFlushRecommended not exposed (rule 9)',
      req: flushListExReq({ vps: [VP_A, VP_B] }, [TWO_PAGES]),
      drop: ['RemoteTlbFlushRecommended'],
      status: HvStatus.ACCESS_DENIED,
      changed: [],
    },
    {
      what: 'ExProcessorMasksRecommended not exposed (rule 9)',
      req: flushListExReq({ vps: [VP_A, VP_B] }, [TWO_PAGES]),
      drop: ['ExProcessorMasksRecommended'],
      status: HvStatus.ACCESS_DENIED,
      changed: [],
    },
    {
      what: 'VariableHeaderSize 3 ≠ popcount(ValidBanksMask) 2 (rule 11)',
      req: flushListExReq({ vps: [VP_A, VP_B], varHdr: 3 }, [TWO_PAGES]),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      changed: [],
    },
    {
      what: 'RepCount = 0 (rule 10)',
      req: flushListExReq({ vps: [VP_A, VP_B] }, [TWO_PAGES], { repCount: 0 }),
      status: HvStatus.INVALID_HYPERCALL_INPUT,
      changed: [],
    },
    {
      what: 'Format 2 (neither SPARSE_4K nor ALL)',
      req: flushListExReq({ format: 2n, vps: [VP_A] }, [TWO_PAGES]),
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
    {
      what: 'an undefined flag bit (rule 18)',
      req: flushListExReq({ flags: 0x200n, vps: [VP_A] }, [TWO_PAGES]),
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
    {
      what: 'USE_EXTENDED_RANGE_FORMAT while ExtendedGvaRangesForFlush is not exposed',
      req: flushListExReq({ flags: HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, vps: [VP_A] }, [TWO_PAGES]),
      drop: ['ExtendedGvaRangesForFlush'],
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
    {
      what: 'a malformed extended range first: nothing flushed, RepsCompleted 0',
      req: flushListExReq({ flags: HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, vps: [VP_A, VP_B] }, [
        BAD_EXTENDED,
        TWO_PAGES,
      ]),
      status: HvStatus.INVALID_PARAMETER,
      changed: [],
    },
  ]);

  it('fast: 10 − n ranges fit with n banks (spec 02 "Capacities")', () => {
    const vm = new TestVm();
    const ranges = (n: number) => Array.from({ length: n }, (_, i) => 0x10_0000n + BigInt(i) * 0x1000n);
    expect(issue(vm, 'fast', flushListExReq({ vps: [VP_A, VP_B] }, ranges(8))).status).toBe(HvStatus.SUCCESS);
    const req = flushListExReq({ vps: [VP_A, VP_B] }, ranges(9));
    expect(vm.call('fast', 0, req.control, req.slots.slice(0, 14)).status).toBe(
      HvStatus.INVALID_HYPERCALL_INPUT,
    );
  });
});

describe('what a flush removes (precise mode), on targets VP 2 and VP 65', () => {
  interface SemanticsCase {
    readonly what: string;
    readonly req: Req;
    /** Which standard entries the targets lose. */
    readonly removed: (space: 'A' | 'B' | 'G', gva: bigint) => boolean;
  }
  const set = { vps: [VP_A, VP_B] };
  const isPage =
    (...pages: bigint[]) =>
    (gva: bigint) =>
      pages.includes(gva);
  const cases: SemanticsCase[] = [
    {
      what: 'Space, AddressSpace A: A and the global entries go, B stays',
      req: flushSpaceExReq({ space: SPACE_A, ...set }),
      removed: (s) => s === 'A' || s === 'G',
    },
    {
      what: 'Space, AddressSpace B: only B among the non-global entries',
      req: flushSpaceExReq({ space: SPACE_B, ...set }),
      removed: (s) => s === 'B' || s === 'G',
    },
    {
      what: 'Space, NON_GLOBAL_MAPPINGS_ONLY keeps the global entries',
      req: flushSpaceExReq({ space: SPACE_A, flags: HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY, ...set }),
      removed: (s) => s === 'A',
    },
    {
      what: 'Space, ALL_VIRTUAL_ADDRESS_SPACES ignores AddressSpace: everything goes',
      req: flushSpaceExReq({ space: SPACE_A, flags: HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES, ...set }),
      removed: () => true,
    },
    {
      what: 'Space, ALL_VIRTUAL_ADDRESS_SPACES | NON_GLOBAL_MAPPINGS_ONLY: only the globals stay',
      req: flushSpaceExReq({
        space: 0n,
        flags: HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES | HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
        ...set,
      }),
      removed: (s) => s !== 'G',
    },
    {
      what: 'List, AddressSpace A: the listed pages of A, and a listed global page (whatever its kind)',
      req: flushListExReq({ space: SPACE_A, ...set }, [TWO_PAGES, 0x80_0000n]),
      removed: (s, gva) =>
        (s === 'A' && isPage(0x10_0000n, 0x10_1000n)(gva)) || (s === 'G' && gva === 0x80_0000n),
    },
    {
      what: 'List with NON_GLOBAL_MAPPINGS_ONLY still removes a listed global page',
      req: flushListExReq({ space: SPACE_A, flags: HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY, ...set }, [0x80_1000n]),
      removed: (s, gva) => s === 'G' && gva === 0x80_1000n,
    },
    {
      what: 'List, ALL_VIRTUAL_ADDRESS_SPACES: the listed pages in every address space',
      req: flushListExReq({ space: SPACE_A, flags: HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES, ...set }, [
        TWO_PAGES,
      ]),
      removed: (s, gva) => s !== 'G' && isPage(0x10_0000n, 0x10_1000n)(gva),
    },
    {
      what: 'List, simple format: AdditionalPages 4095 covers 4096 pages (16 MiB from 0)',
      req: flushListExReq({ space: SPACE_B, ...set }, [0xfffn]),
      removed: (s, gva) => s === 'B' || (s === 'G' && gva < 0x100_0000n),
    },
    {
      what: 'List, extended format, LargePage=0: AdditionalPages in bits 10:0 (3 pages)',
      req: flushListExReq({ space: SPACE_A, flags: HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, ...set }, [
        0x10_0002n,
      ]),
      removed: (s, gva) => s === 'A' && isPage(0x10_0000n, 0x10_1000n, 0x10_2000n)(gva),
    },
    {
      what: 'List, extended format, one 2 MiB large page at 0x400000',
      req: flushListExReq({ space: SPACE_A, flags: HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, ...set }, [
        ((0x40_0000n >> 21n) << 21n) | (1n << 11n),
      ]),
      removed: (s, gva) => s === 'A' && gva === 0x40_0000n,
    },
    {
      what: 'List, extended format, one 1 GiB large page at 0: every page below 1 GiB in A, globals too',
      req: flushListExReq({ space: SPACE_A, flags: HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, ...set }, [
        (1n << 12n) | (1n << 11n),
      ]),
      removed: (s) => s === 'A' || s === 'G',
    },
    {
      what: 'List without the extended flag reads the same large-page entry as 0x806 4 KiB pages (rule 16)',
      req: flushListExReq({ space: SPACE_A, ...set }, [(1n << 12n) | (1n << 11n) | 5n]),
      removed: (s, gva) => (s === 'A' || s === 'G') && gva >= 0x1000n && gva < 0x1000n + 0x806n * 0x1000n,
    },
  ];
  const rows = cases.flatMap((c) => FORMS.map((form) => ({ ...c, form })));
  it.each(titled(rows, (r) => `${r.form}: ${r.what}`))('%s', (_t, r) => {
    const vm = new TestVm();
    vm.fillAll();
    const before = vm.snapshot();
    expect(issue(vm, r.form, r.req).status).toBe(HvStatus.SUCCESS);
    const after = vm.snapshot();
    const expected = standardKeysWithout(r.removed);
    expect(after[VP_A]!.tlb).toEqual(expected);
    expect(after[VP_B]!.tlb).toEqual(expected);
    const changed = expected.length === before[VP_A]!.tlb.length ? [] : [VP_A, VP_B];
    expectOnlyChanged(before, after, changed);
  });
});

describe('rep continuation of the List calls (spec 01 rules 8–10)', () => {
  const pages = [0x10_0000n, 0x10_1000n, 0x10_2000n, 0x40_0000n, 0x80_0000n];
  const reqs = {
    '0x0003': (start: number) =>
      flushListReq({ mask: processorMask([VP_A]) }, pages, { repStartIndex: start }),
    '0x0014': (start: number) => flushListExReq({ vps: [VP_A, VP_B] }, pages, { repStartIndex: start }),
  };
  const rows = (['0x0003', '0x0014'] as const).flatMap((call) => FORMS.map((form) => ({ call, form })));
  it.each(
    titled(
      rows,
      (r) =>
        `${r.form} ${r.call}: maxRepsPerCall 2 → RepsCompleted 2, 4, 5; each invocation flushes only its slice`,
    ),
  )('%s', (_t, { call, form }) => {
    const vm = new TestVm({ maxRepsPerCall: 2 });
    vm.fillAll();
    const targets = call === '0x0003' ? [VP_A] : [VP_A, VP_B];
    const before = vm.snapshot();
    let start = 0;
    const seen: number[] = [];
    for (let round = 0; round < 3; round++) {
      const out = issue(vm, form, reqs[call](start));
      expect(out.status).toBe(HvStatus.SUCCESS);
      seen.push(out.reps);
      const flushed = pages.slice(0, out.reps);
      const expected = standardKeysWithout((s, gva) => (s === 'A' || s === 'G') && flushed.includes(gva));
      for (const vp of targets) expect(vm.snapshot()[vp]!.tlb).toEqual(expected);
      start = out.reps;
    }
    expect(seen).toEqual([2, 4, 5]);
    expectOnlyChanged(before, vm.snapshot(), targets);
  });

  it('RepStartIndex ≠ 0 is accepted as a continuation (pvlab time-slices; KVM never does, rule 10)', () => {
    const vm = new TestVm();
    vm.fillAll();
    const out = issue(vm, 'memory', reqs['0x0014'](3));
    expect({ status: out.status, reps: out.reps }).toEqual({ status: HvStatus.SUCCESS, reps: 5 });
    expect(vm.snapshot()[VP_A]!.tlb).toEqual(
      standardKeysWithout((s, gva) => (s === 'A' || s === 'G') && (gva === 0x40_0000n || gva === 0x80_0000n)),
    );
  });

  it('a 509-range List call fills one page and completes in one invocation (spec 02 "Capacities")', () => {
    const vm = new TestVm();
    vm.fillAll();
    const ranges = Array.from({ length: 509 }, (_, i) => 0x1000_0000n + BigInt(i) * 0x1000n);
    ranges[0] = TWO_PAGES;
    const out = issue(vm, 'memory', flushListReq({ mask: processorMask([VP_A]) }, ranges));
    expect({ status: out.status, reps: out.reps }).toEqual({ status: HvStatus.SUCCESS, reps: 509 });
  });
});

describe('the host counts what it did', () => {
  it('flushes and target flushes', () => {
    const vm = new TestVm();
    issue(vm, 'memory', flushSpaceExReq({ vps: [VP_A, VP_B] }));
    issue(vm, 'fast', flushListReq({ flags: HV_FLUSH_ALL_PROCESSORS }, [TWO_PAGES]));
    issue(vm, 'memory', flushSpaceExReq({ format: 7n }));
    expect(vm.state.counters).toMatchObject({ flushes: 2, targetFlushes: 2 + VCPUS });
  });
});
