import { HvStatus } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { HostVisibility } from '../src/index.ts';
import { BOUNDARY, hex, MODIFY, OUTPUT_GPA, QUERY, RAM_PAGES, SELF, TestVm } from './fixtures.ts';

const pfnsOf = (...p: number[]) => p.map(BigInt);
const visOf = (vm: TestVm, ...p: number[]) => p.map((pfn) => vm.state.visibility.get(pfn));

/** A 0x00DB call: header (PartitionId, flags u64) then PFNs. */
function modify(
  vm: TestVm,
  visibility: bigint,
  pfns: bigint[],
  extra: { partitionId?: bigint; repStartIndex?: number; repCount?: number } = {},
) {
  return vm.call(
    { callCode: MODIFY, repCount: extra.repCount ?? pfns.length, repStartIndex: extra.repStartIndex ?? 0 },
    [extra.partitionId ?? SELF, visibility, ...pfns],
  );
}

function query(vm: TestVm, pfns: bigint[], partitionId = SELF) {
  return vm.call({ callCode: QUERY, repCount: pfns.length }, [partitionId, ...pfns]);
}

describe('HvCallModifySparseGpaPageHostVisibility (0x00DB)', () => {
  it('SUCCESS: every named page takes the visibility; the others keep theirs', () => {
    const vm = new TestVm();
    expect(modify(vm, 3n, pfnsOf(0x20, 0x22, 0x40))).toEqual({ status: HvStatus.SUCCESS, reps: 3 });
    expect(visOf(vm, 0x20, 0x21, 0x22, 0x40)).toEqual([3, 0, 3, 3]);
    expect(vm.state.visibility.visiblePages()).toEqual([0x20, 0x22, 0x40]);
    expect(modify(vm, 0n, pfnsOf(0x22))).toEqual({ status: HvStatus.SUCCESS, reps: 1 });
    expect(vm.state.visibility.visiblePages()).toEqual([0x20, 0x40]);
    expect(vm.state.counters.modifyCalls).toBe(2);
  });

  it('SUCCESS: READ_ONLY (1) is accepted by default (TLFS, Linux VMBUS_PAGE_VISIBLE_READ_ONLY)', () => {
    const vm = new TestVm();
    expect(modify(vm, 1n, pfnsOf(0x30)).status).toBe(HvStatus.SUCCESS);
    expect(visOf(vm, 0x30)).toEqual([HostVisibility.READ_ONLY]);
  });

  it('ACCESS_DENIED: the Isolation privilege (0x40000003 EBX bit 22) is not exposed', () => {
    const vm = new TestVm({ drop: ['Isolation'] });
    expect(modify(vm, 3n, pfnsOf(0x20))).toEqual({ status: HvStatus.ACCESS_DENIED, reps: 0 });
    expect(visOf(vm, 0x20)).toEqual([0]);
  });

  it.each([0n, 1n, 0xffff_ffff_ffff_fffen])(
    'ACCESS_DENIED: PartitionId %s is not HV_PARTITION_ID_SELF (openvmm)',
    (id) => {
      const vm = new TestVm();
      expect(modify(vm, 3n, pfnsOf(0x20), { partitionId: id })).toEqual({
        status: HvStatus.ACCESS_DENIED,
        reps: 0,
      });
      expect(visOf(vm, 0x20)).toEqual([0]);
    },
  );

  it.each([
    ['HostVisibility 2 (undefined)', 2n],
    ['RsvdZ bit 2', 0x4n | 3n],
    ['RsvdZ bit 31', 0x8000_0000n | 3n],
    ['the RsvdZ u32 at offset 12', 0x1_0000_0000n | 3n],
  ])('INVALID_PARAMETER: %s', (_name, flags) => {
    const vm = new TestVm();
    expect(modify(vm, flags, pfnsOf(0x20))).toEqual({ status: HvStatus.INVALID_PARAMETER, reps: 0 });
    expect(visOf(vm, 0x20)).toEqual([0]);
  });

  it("INVALID_PARAMETER: READ_ONLY under readOnlyVisibility 'refuse' (openvmm, spec 05 rule 6)", () => {
    const vm = new TestVm({ readOnlyVisibility: 'refuse' });
    expect(modify(vm, 1n, pfnsOf(0x20))).toEqual({ status: HvStatus.INVALID_PARAMETER, reps: 0 });
    expect(modify(vm, 3n, pfnsOf(0x20)).status).toBe(HvStatus.SUCCESS);
  });

  it.each([
    ['the first page past RAM', BigInt(RAM_PAGES)],
    ['a shared-alias page number (pfn | boundary >> 12)', 0x20n | (BOUNDARY >> 12n)],
    ['2^64 − 1', 0xffff_ffff_ffff_ffffn],
  ])('OPERATION_DENIED, nothing changed: %s (openvmm validates the list first)', (_name, bad) => {
    const vm = new TestVm();
    expect(modify(vm, 3n, [0x20n, 0x21n, bad])).toEqual({ status: HvStatus.OPERATION_DENIED, reps: 0 });
    expect(visOf(vm, 0x20, 0x21)).toEqual([0, 0]);
    expect(vm.state.counters.pagesConverted).toBe(0);
  });

  it('INVALID_HYPERCALL_INPUT (dispatcher): RepCount 0, a fast call, a variable header', () => {
    const vm = new TestVm();
    expect(vm.call({ callCode: MODIFY, repCount: 0 }, [SELF, 3n]).status).toBe(
      HvStatus.INVALID_HYPERCALL_INPUT,
    );
    expect(vm.call({ callCode: MODIFY, repCount: 1, fast: true }, [SELF, 3n, 0x20n]).status).toBe(
      HvStatus.INVALID_HYPERCALL_INPUT,
    );
    expect(
      vm.call({ callCode: MODIFY, repCount: 1, variableHeaderSize: 1 }, [SELF, 3n, 0n, 0x20n]).status,
    ).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(visOf(vm, 0x20)).toEqual([0]);
  });

  it('INVALID_ALIGNMENT (dispatcher): an input list not 8-byte aligned, or straddling a page', () => {
    const vm = new TestVm();
    expect(vm.call({ callCode: MODIFY, repCount: 1 }, [SELF, 3n, 0x20n], 0x2004n).status).toBe(
      HvStatus.INVALID_ALIGNMENT,
    );
    expect(vm.call({ callCode: MODIFY, repCount: 1 }, [SELF, 3n, 0x20n], 0x2ff0n).status).toBe(
      HvStatus.INVALID_ALIGNMENT,
    );
  });

  it('rep continuation: a time-sliced call completes its slice; RepStartIndex resumes it', () => {
    const vm = new TestVm({ maxRepsPerCall: 2 });
    const pfns = pfnsOf(0x20, 0x21, 0x22, 0x23, 0x24);
    expect(modify(vm, 3n, pfns)).toEqual({ status: HvStatus.SUCCESS, reps: 2 });
    expect(visOf(vm, 0x20, 0x21, 0x22)).toEqual([3, 3, 0]);
    expect(modify(vm, 3n, pfns, { repStartIndex: 2 })).toEqual({ status: HvStatus.SUCCESS, reps: 4 });
    expect(modify(vm, 3n, pfns, { repStartIndex: 4 })).toEqual({ status: HvStatus.SUCCESS, reps: 5 });
    expect(visOf(vm, 0x20, 0x21, 0x22, 0x23, 0x24)).toEqual([3, 3, 3, 3, 3]);
  });

  it('a bad PFN in a later slice fails that slice only: RepsCompleted = its RepStartIndex', () => {
    const vm = new TestVm({ maxRepsPerCall: 2 });
    const pfns = [0x20n, 0x21n, BigInt(RAM_PAGES)];
    expect(modify(vm, 3n, pfns)).toEqual({ status: HvStatus.SUCCESS, reps: 2 });
    expect(modify(vm, 3n, pfns, { repStartIndex: 2 })).toEqual({
      status: HvStatus.OPERATION_DENIED,
      reps: 2,
    });
  });

  it('tells the event hook what changed', () => {
    const vm = new TestVm();
    modify(vm, 3n, pfnsOf(0x20, 0x21));
    modify(vm, 1n, pfnsOf(0x20, 0x22));
    expect(vm.events).toEqual([
      { kind: 'visibility-changed', vp: 0, visibility: 3, pages: 2, converted: 2 },
      { kind: 'visibility-changed', vp: 0, visibility: 1, pages: 2, converted: 1 },
    ]);
  });
});

describe('conversion does not preserve contents (the other side sees garbage)', () => {
  const pattern = Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff);
  const page = (vm: TestVm, pfn: number) => vm.ram.read(BigInt(pfn) << 12n, 4096);

  it('private → shared scrambles the page: neither the old bytes nor zeros', () => {
    const vm = new TestVm();
    vm.ram.write(0x20000n, pattern);
    modify(vm, 3n, [0x20n]);
    const after = page(vm, 0x20);
    expect(after).not.toEqual(pattern);
    expect(after.some((b) => b !== 0)).toBe(true);
    expect(vm.state.counters.pagesConverted).toBe(1);
  });

  it('shared → private scrambles it too; READ_ONLY ↔ READ_WRITE and a no-op change do not', () => {
    const vm = new TestVm();
    vm.setVisibility([0x20, 0x21, 0x22], 1);
    for (const pfn of [0x20, 0x21, 0x22]) vm.ram.write(BigInt(pfn) << 12n, pattern);
    modify(vm, 0n, [0x20n]);
    modify(vm, 3n, [0x21n]);
    modify(vm, 1n, [0x22n]);
    expect(page(vm, 0x20)).not.toEqual(pattern);
    expect(page(vm, 0x21)).toEqual(pattern);
    expect(page(vm, 0x22)).toEqual(pattern);
  });

  it('the garbage is reproducible from the seed, and differs between seeds', () => {
    const run = (seed?: number) => {
      const vm = new TestVm(seed === undefined ? {} : { seed });
      modify(vm, 3n, [0x20n, 0x21n]);
      return [page(vm, 0x20), page(vm, 0x21)];
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    expect(run()[0]).not.toEqual(run()[1]);
  });

  it("conversion: 'zero' leaves zeros instead", () => {
    const vm = new TestVm({ conversion: 'zero' });
    vm.ram.write(0x20000n, pattern);
    modify(vm, 3n, [0x20n]);
    expect(page(vm, 0x20)).toEqual(new Uint8Array(4096));
  });
});

describe('HvCallQuerySparseGpaPageHostVisibility (0x011C)', () => {
  const outputs = (vm: TestVm, n: number) =>
    Array.from({ length: n }, (_, i) => vm.ram.readU64(OUTPUT_GPA + BigInt(8 * i)));

  it('SUCCESS: one element per PFN, the HostVisibility in its low byte', () => {
    const vm = new TestVm();
    vm.setVisibility([0x21], 3);
    vm.setVisibility([0x22], 1);
    expect(query(vm, pfnsOf(0x20, 0x21, 0x22))).toEqual({ status: HvStatus.SUCCESS, reps: 3 });
    expect(outputs(vm, 3)).toEqual([0n, 3n, 1n]);
    expect(vm.state.counters.queryCalls).toBe(1);
  });

  it('ACCESS_DENIED: no Isolation privilege, or a PartitionId other than SELF', () => {
    expect(query(new TestVm({ drop: ['Isolation'] }), [0x20n]).status).toBe(HvStatus.ACCESS_DENIED);
    expect(query(new TestVm(), [0x20n], 0n)).toEqual({ status: HvStatus.ACCESS_DENIED, reps: 0 });
  });

  it('OPERATION_DENIED at the first PFN outside RAM, the elements before it written (openvmm)', () => {
    const vm = new TestVm();
    vm.setVisibility([0x20], 3);
    vm.ram.writeU64(OUTPUT_GPA + 8n, 0xaan);
    expect(query(vm, [0x20n, BigInt(RAM_PAGES), 0x21n])).toEqual({
      status: HvStatus.OPERATION_DENIED,
      reps: 1,
    });
    expect(outputs(vm, 2)).toEqual([3n, 0xaan]);
  });

  it('INVALID_HYPERCALL_INPUT (dispatcher): RepCount 0 or a fast call', () => {
    const vm = new TestVm();
    expect(vm.call({ callCode: QUERY, repCount: 0 }, [SELF]).status).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(vm.call({ callCode: QUERY, repCount: 1, fast: true }, [SELF, 0x20n]).status).toBe(
      HvStatus.INVALID_HYPERCALL_INPUT,
    );
  });

  it(`the dispatcher writes back only completed elements (${hex(OUTPUT_GPA)} onwards)`, () => {
    const vm = new TestVm({ maxRepsPerCall: 1 });
    vm.ram.writeU64(OUTPUT_GPA + 8n, 0x55n);
    vm.setVisibility([0x20], 3);
    expect(query(vm, [0x20n, 0x21n])).toEqual({ status: HvStatus.SUCCESS, reps: 1 });
    expect(outputs(vm, 2)).toEqual([3n, 0x55n]);
  });
});

describe('CPUID and features', () => {
  it('exposes the Isolation privilege and leaf 0x4000000C; max leaf covers it', () => {
    const vm = new TestVm({ sharedGpaBoundaryBits: 40, isolationType: 'VBS', paravisorPresent: false });
    expect((vm.partition.cpuid(0x4000_0003).ebx >>> 22) & 1).toBe(1);
    expect(vm.partition.cpuid(0x4000_000c)).toEqual({ eax: 0, ebx: 1 | 0x20 | (40 << 6), ecx: 0, edx: 0 });
    expect(vm.partition.cpuid(0x4000_0000).eax).toBe(0x4000_000c);
  });
});
