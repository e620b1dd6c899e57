import { describe, expect, it } from 'vitest';
import { DEFAULT_GUEST_OS_ID, enableHypercalls, GuestBootError, initCpu } from '../src/guest/boot.ts';
import type { GuestContext, GuestCpu } from '../src/guest/cpu.ts';
import { detectHyperV } from '../src/guest/detect.ts';
import { perCpuHypercallPages } from '../src/guest/hypercalls.ts';
import { GuestOutOfMemoryError, GuestPageAllocator } from '../src/guest/page-allocator.ts';
import { VP_INVAL, VpIndexTable } from '../src/guest/vp-index.ts';
import type { HvPartition } from '../src/host/partition.ts';
import { GuestMemory } from '../src/memory.ts';
import { HvCallCode } from '../src/wire/call-code.ts';
import type { CpuidResult, HvFeatureName } from '../src/wire/cpuid.ts';
import { HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL } from '../src/wire/msr.ts';
import { HvStatus } from '../src/wire/status.ts';
import {
  ALL_CORE_FEATURES,
  catchGuestFault,
  FAIL_VALUE,
  HYPERCALL_PAGE_GPA,
  makeHypercallPartition,
  makePartition,
  partitionGuestCpu,
  RAM_BYTES,
  readU64s,
  registerTestHypercalls,
  TestCall,
  type TestPartitionOptions,
  titled,
  writeU64s,
} from './fixtures.ts';

/** Where the guest's page allocator starts handing out per-CPU pages. */
const ALLOC_BASE = 0x4000n;

/** A guest CPU answering CPUID from a fixed table and refusing everything else (not pvlab). */
function cpuWithLeaves(leaves: Record<number, Partial<CpuidResult>>): GuestCpu {
  return {
    cpuid: (leaf) => ({ eax: 0, ebx: 0, ecx: 0, edx: 0, ...leaves[leaf] }),
    readMsr: () => {
      throw new Error('no MSRs on this CPU');
    },
    writeMsr: () => {
      throw new Error('no MSRs on this CPU');
    },
    hypercall: () => {
      throw new Error('no hypercalls on this CPU');
    },
    fastHypercall: () => {
      throw new Error('no hypercalls on this CPU');
    },
  };
}

const MICROSOFT_HV = { ebx: 0x7263_694d, ecx: 0x666f_736f, edx: 0x7648_2074 };

/** A partition without hypercalls enabled, and a guest context on VP `vp`. */
function guestOn(options: TestPartitionOptions = {}, vp = 0) {
  const partition = makePartition(options);
  const cpu = partitionGuestCpu(partition, vp);
  const ctx: GuestContext = { cpu, memory: partition.memory };
  return { partition, cpu, ctx };
}

/** A guest CPU that records every WRMSR before passing it on. */
function recordingCpu(inner: GuestCpu, writes: [bigint, bigint][]): GuestCpu {
  return {
    cpuid: (leaf) => inner.cpuid(leaf),
    readMsr: (msr) => inner.readMsr(msr),
    writeMsr: (msr, value) => {
      writes.push([msr, value]);
      inner.writeMsr(msr, value);
    },
    hypercall: (c, i, o) => inner.hypercall(c, i, o),
    fastHypercall: (c, input) => inner.fastHypercall(c, input),
  };
}

describe('detectHyperV — Linux ms_hyperv_platform', () => {
  it('on a pvlab partition: the leaves as the guest sees them', () => {
    const { cpu } = guestOn({ vcpus: 3, spinWaitRetryCount: 0x1234 });
    const info = detectHyperV(cpu);
    expect(info).toBeDefined();
    expect(info?.maxLeaf).toBe(0x4000_0006);
    expect(info?.spinWaitRetryCount).toBe(0x1234);
    expect(info?.maxVps).toBe(3);
    // AccessHypercallMsrs (EAX 5) + AccessVpIndex (EAX 6); XMM in (EDX 4), XMM out (EDX 15), MSR lock (EDX 18).
    expect(info?.features).toEqual({ eax: 0x60, ebx: 0, ecx: 0, edx: 0x4_8010 });
    expect(info?.hints).toBe(0);
    expect(info?.has('AccessHypercallMsrs')).toBe(true);
    expect(info?.has('HypercallMsrLock')).toBe(true);
    expect(info?.has('AccessPartitionId')).toBe(false);
  });

  it.each<[string, Record<number, Partial<CpuidResult>>]>([
    ['no hypervisor leaves at all', {}],
    [
      'KVM ("KVMKVMKVM")',
      {
        1073741824: { eax: 0x4000_0006, ebx: 0x4b4d_564b, ecx: 0x564b_4d56, edx: 0x4d },
        1073741825: { eax: 0x3123_7648 },
      },
    ],
    ['"Microsoft Hv" without the "Hv#1" interface', { 1073741824: { eax: 0x4000_0006, ...MICROSOFT_HV } }],
    [
      '"Microsoft Hv" + "Hv#1" but max leaf 0x40000004 (< 0x40000005)',
      { 1073741824: { eax: 0x4000_0004, ...MICROSOFT_HV }, 1073741825: { eax: 0x3123_7648 } },
    ],
  ])('is undefined for %s', (_case, leaves) => {
    expect(detectHyperV(cpuWithLeaves(leaves))).toBeUndefined();
  });

  it('leaves above the max leaf read as zero, whatever CPUID answers there', () => {
    const info = detectHyperV(
      cpuWithLeaves({
        1073741824: { eax: 0x4000_0005, ...MICROSOFT_HV },
        1073741825: { eax: 0x3123_7648 },
        1073741830: { eax: 0b1000 },
      }),
    );
    expect(info?.maxLeaf).toBe(0x4000_0005);
    expect(info?.has('SlatInUse')).toBe(false);
  });
});

describe('enableHypercalls — Linux hyperv_init (spec 01 rule 15)', () => {
  it('writes GUEST_OS_ID, then HYPERCALL with Enable and the GPFN, and the hypervisor takes it', () => {
    const { partition, cpu, ctx } = guestOn();
    const writes: [bigint, bigint][] = [];
    const info = enableHypercalls(
      { ...ctx, cpu: recordingCpu(cpu, writes) },
      { hypercallPageGpa: HYPERCALL_PAGE_GPA },
    );
    expect(writes).toEqual([
      [HV_X64_MSR_GUEST_OS_ID, 0x8100_0006_0c00_0000n],
      [HV_X64_MSR_HYPERCALL, 0x1001n],
    ]);
    expect(info.maxLeaf).toBe(0x4000_0006);
    expect(partition.hypercallsEnabled).toBe(true);
    expect([...partition.memory.read(HYPERCALL_PAGE_GPA, 4)]).toEqual([0x0f, 0x01, 0xc1, 0xc3]);
  });

  it('DEFAULT_GUEST_OS_ID is Linux 6.12.0: 0x8100 << 48 | 0x060C00 << 16', () => {
    expect(DEFAULT_GUEST_OS_ID).toBe(0x8100_0006_0c00_0000n);
  });

  it('reports the guest OS id it is given', () => {
    const { partition, ctx } = guestOn();
    enableHypercalls(ctx, { hypercallPageGpa: 0x3000n, guestOsId: 0x8100_0005_0f00_0000n });
    expect(partition.readMsr(0, HV_X64_MSR_GUEST_OS_ID)).toBe(0x8100_0005_0f00_0000n);
    expect(partition.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0x3001n);
  });

  it('preserves the RsvdP bits 11:2 it read from HYPERCALL', () => {
    const { partition, ctx } = guestOn();
    partition.hypercallMsr = 0x2a8n; // RsvdP bits the hypervisor reports
    enableHypercalls(ctx, { hypercallPageGpa: HYPERCALL_PAGE_GPA });
    expect(partition.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(0x12a9n);
  });

  it.each<[string, () => GuestContext, RegExp]>([
    [
      'not running on Hyper-V',
      () => ({ cpu: cpuWithLeaves({}), memory: new GuestMemory(RAM_BYTES) }),
      /not running on Hyper-V/,
    ],
    [
      'AccessHypercallMsrs not exposed',
      () => guestOn({ features: ALL_CORE_FEATURES.filter((f) => f !== 'AccessHypercallMsrs') }).ctx,
      /AccessHypercallMsrs \(CPUID 0x40000003 EAX bit 5\)/,
    ],
  ])('refuses to boot when %s (GuestBootError)', (_case, ctx, message) => {
    expect(() => enableHypercalls(ctx(), { hypercallPageGpa: HYPERCALL_PAGE_GPA })).toThrow(GuestBootError);
    expect(() => enableHypercalls(ctx(), { hypercallPageGpa: HYPERCALL_PAGE_GPA })).toThrow(message);
  });

  it('refuses a misaligned page before writing any MSR', () => {
    const { partition, ctx } = guestOn();
    expect(() => enableHypercalls(ctx, { hypercallPageGpa: 0x1800n })).toThrow(/0x1800 is not page-aligned/);
    expect(partition.guestOsId).toBe(0n);
  });

  it('notices when the hypervisor drops Enable (GUEST_OS_ID 0: the HYPERCALL write is ignored)', () => {
    const { ctx } = guestOn();
    expect(() => enableHypercalls(ctx, { hypercallPageGpa: HYPERCALL_PAGE_GPA, guestOsId: 0n })).toThrow(
      /did not keep Enable/,
    );
  });

  it('a hypercall page outside RAM: the #GP of the WRMSR reaches the guest', () => {
    const { ctx } = guestOn();
    catchGuestFault(() => enableHypercalls(ctx, { hypercallPageGpa: BigInt(RAM_BYTES) }), 'GP');
  });
});

describe('initCpu — Linux hv_cpu_init', () => {
  function booted(features: readonly HvFeatureName[] = ALL_CORE_FEATURES) {
    const { partition, log } = makeHypercallPartition({ vcpus: 3, features });
    const allocator = new GuestPageAllocator(partition.memory, ALLOC_BASE);
    const vpIndexTable = new VpIndexTable(2);
    const ctxFor = (vp: number): GuestContext => ({
      cpu: partitionGuestCpu(partition, vp),
      memory: partition.memory,
    });
    const info = detectHyperV(ctxFor(0).cpu)!;
    return { partition, log, allocator, vpIndexTable, ctxFor, info };
  }

  it("'separate' layout: an input page and an output page; the VP index comes from the MSR", () => {
    const { allocator, vpIndexTable, ctxFor, info } = booted();
    const cpu0 = initCpu(ctxFor(0), { cpu: 0, info, allocator, vpIndexTable });
    expect(cpu0.hypercalls.pages).toEqual({
      inputGpa: 0x4000n,
      outputGpa: 0x5000n,
      inputBytes: 4096,
      outputBytes: 4096,
    });
    expect(vpIndexTable.get(1)).toBe(VP_INVAL);
    // CPU 1 runs on VP 2: its table entry is the VP index, not the CPU number.
    const cpu1 = initCpu(ctxFor(2), { cpu: 1, info, allocator, vpIndexTable });
    expect(cpu1).toMatchObject({ cpu: 1, vpIndex: 2 });
    expect(cpu1.hypercalls.pages).toMatchObject({ inputGpa: 0x6000n, outputGpa: 0x7000n });
    expect([vpIndexTable.get(0), vpIndexTable.get(1)]).toEqual([0, 2]);
    expect(allocator.remaining).toBe(BigInt(RAM_BYTES) - 0x8000n);
  });

  it("'shared-page' layout: input and output halves of one page that do not overlap", () => {
    const { allocator, vpIndexTable, ctxFor, info } = booted();
    const state = initCpu(ctxFor(1), { cpu: 0, info, allocator, vpIndexTable, layout: 'shared-page' });
    const pages = state.hypercalls.pages;
    expect(pages).toEqual({ inputGpa: 0x4000n, outputGpa: 0x4800n, inputBytes: 2048, outputBytes: 2048 });
    expect(pages.inputGpa + BigInt(pages.inputBytes) <= pages.outputGpa).toBe(true);
    expect(pages.outputGpa + BigInt(pages.outputBytes)).toBe(0x5000n);
    expect(allocator.remaining).toBe(BigInt(RAM_BYTES) - 0x5000n);
    expect(state.vpIndex).toBe(1);
  });

  it('without AccessVpIndex the VP index stays VP_INVAL', () => {
    const { allocator, vpIndexTable, ctxFor, info } = booted(
      ALL_CORE_FEATURES.filter((f) => f !== 'AccessVpIndex'),
    );
    const state = initCpu(ctxFor(1), { cpu: 1, info, allocator, vpIndexTable });
    expect(state.vpIndex).toBe(VP_INVAL);
    expect(vpIndexTable.get(1)).toBe(VP_INVAL);
  });

  it('the CPU issues memory calls through its own pages', () => {
    const { allocator, vpIndexTable, ctxFor, info, log } = booted();
    const { hypercalls } = initCpu(ctxFor(1), {
      cpu: 0,
      info,
      allocator,
      vpIndexTable,
      layout: 'shared-page',
    });
    hypercalls.writeInput(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 2));
    const r = hypercalls.call(BigInt(TestCall.Echo));
    expect(r).toEqual({ raw: 0n, status: HvStatus.SUCCESS, repsCompleted: 0 });
    expect([...hypercalls.readOutput(16)]).toEqual([
      0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    expect(log.echo[0]?.vp).toBe(1);
  });
});

describe('VpIndexTable — Linux hv_vp_index[]', () => {
  it('every entry is VP_INVAL (U32_MAX) until its CPU sets it', () => {
    const t = new VpIndexTable(4);
    expect(VP_INVAL).toBe(0xffff_ffff);
    expect(t.cpus).toBe(4);
    expect([0, 1, 2, 3].map((c) => t.get(c))).toEqual([VP_INVAL, VP_INVAL, VP_INVAL, VP_INVAL]);
    expect(t.maxVpIndex()).toBe(-1);
    t.set(2, 65);
    t.set(0, 3);
    expect([0, 1, 2, 3].map((c) => t.get(c))).toEqual([3, VP_INVAL, 65, VP_INVAL]);
    expect(t.maxVpIndex()).toBe(65);
  });

  it.each([-1, 4, 1.5])('CPU %s is outside a 4-CPU table: get and set throw RangeError', (cpu) => {
    const t = new VpIndexTable(4);
    expect(() => t.get(cpu)).toThrow(RangeError);
    expect(() => t.set(cpu, 0)).toThrow(RangeError);
  });
});

describe('GuestPageAllocator', () => {
  it('hands out zeroed, contiguous, page-aligned runs', () => {
    const memory = new GuestMemory(RAM_BYTES);
    memory.bytes.fill(0xaa);
    const alloc = new GuestPageAllocator(memory, ALLOC_BASE);
    expect(alloc.allocPages(2)).toBe(0x4000n);
    expect(alloc.allocPages()).toBe(0x6000n);
    expect(memory.bytes.subarray(0x4000, 0x7000).every((b) => b === 0)).toBe(true);
    expect(memory.readU8(0x3fffn)).toBe(0xaa);
    expect(memory.readU8(0x7000n)).toBe(0xaa);
    expect(alloc.remaining).toBe(BigInt(RAM_BYTES) - 0x7000n);
  });

  it('exhaustion is a GuestOutOfMemoryError and consumes nothing', () => {
    const memory = new GuestMemory(RAM_BYTES);
    const alloc = new GuestPageAllocator(memory, 0xe000n);
    expect(() => alloc.allocPages(3)).toThrow(GuestOutOfMemoryError);
    expect(() => alloc.allocPages(3)).toThrow(/3 page\(s\) wanted, 0x2000 bytes left/);
    expect(alloc.allocPages(2)).toBe(0xe000n);
    expect(() => alloc.allocPages(1)).toThrow(GuestOutOfMemoryError);
  });

  it.each<[string, bigint, bigint | undefined]>([
    ['an unaligned base', 0x1001n, undefined],
    ['a limit beyond RAM', 0n, BigInt(RAM_BYTES) + 0x1000n],
    ['a base above the limit', 0x3000n, 0x2000n],
    ['a negative base', -0x1000n, undefined],
  ])('refuses %s', (_case, base, limit) => {
    const memory = new GuestMemory(RAM_BYTES);
    expect(() => new GuestPageAllocator(memory, base, limit)).toThrow(RangeError);
  });
});

describe('GuestHypercalls — include/asm-generic/mshyperv.h helpers', () => {
  function cpuOn(partition: HvPartition, vp = 0) {
    const cpu = partitionGuestCpu(partition, vp);
    const allocator = new GuestPageAllocator(partition.memory, ALLOC_BASE);
    const info = detectHyperV(cpu)!;
    const state = initCpu(
      { cpu, memory: partition.memory },
      { cpu: 0, info, allocator, vpIndexTable: new VpIndexTable(1) },
    );
    return { cpu, hc: state.hypercalls };
  }

  it("perCpuHypercallPages: 'separate' needs a second page", () => {
    expect(() => perCpuHypercallPages('separate', 0x4000n)).toThrow(RangeError);
  });

  it('writeInput / readOutput refuse to overflow the area', () => {
    const { partition } = makeHypercallPartition();
    const cpu = partitionGuestCpu(partition, 0);
    const alloc = new GuestPageAllocator(partition.memory, ALLOC_BASE);
    const state = initCpu(
      { cpu, memory: partition.memory },
      {
        cpu: 0,
        info: detectHyperV(cpu)!,
        allocator: alloc,
        vpIndexTable: new VpIndexTable(1),
        layout: 'shared-page',
      },
    );
    expect(() => state.hypercalls.writeInput(new Uint8Array(2049))).toThrow(
      /overflows the 2048-byte input area/,
    );
    expect(() => state.hypercalls.writeInput(new Uint8Array(8), 2044)).toThrow(RangeError);
    expect(() => state.hypercalls.readOutput(8, 2044)).toThrow(/overflows the 2048-byte output area/);
    expect(state.hypercalls.readOutput(8, 2040).length).toBe(8);
  });

  /** RepDouble input for `count` elements 1..count; the header base is 0x100, one variable-header QWORD. */
  function repInput(partition: HvPartition, inputGpa: bigint, elements: bigint[]) {
    writeU64s(partition, inputGpa, [0x100n, 0x77n, ...elements]);
  }

  it.each(
    titled(
      [
        { maxRepsPerCall: 3, invocations: 3 },
        { maxRepsPerCall: 1, invocations: 8 },
        { maxRepsPerCall: 8, invocations: 1 },
        { maxRepsPerCall: 4095, invocations: 1 },
      ],
      (c) =>
        `rule 10 "while status==SUCCESS and RepsCompleted < RepCount, re-issue": maxRepsPerCall ${c.maxRepsPerCall} → ${c.invocations} VMCALLs`,
    ),
  )('%s', (_title, { maxRepsPerCall, invocations }) => {
    const { partition } = makeHypercallPartition({ maxRepsPerCall });
    const { cpu, hc } = cpuOn(partition);
    repInput(partition, hc.pages.inputGpa, [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    const r = hc.repCall(TestCall.RepDouble, 8, { variableHeaderSize: 1 });
    expect(r).toMatchObject({ status: HvStatus.SUCCESS, repsCompleted: 8, invocations });
    expect(cpu.vmcalls).toBe(invocations);
    expect(readU64s(partition, hc.pages.outputGpa, 8)).toEqual([
      0x102n,
      0x104n,
      0x106n,
      0x108n,
      0x10an,
      0x10cn,
      0x10en,
      0x110n,
    ]);
  });

  it('rule 10: an element error ends the loop with the error and the absolute RepsCompleted', () => {
    const { partition } = makeHypercallPartition({ maxRepsPerCall: 3 });
    const { hc } = cpuOn(partition);
    repInput(partition, hc.pages.inputGpa, [1n, 2n, 3n, 4n, 5n, FAIL_VALUE, 7n, 8n]);
    const r = hc.repCall(TestCall.RepDouble, 8, { variableHeaderSize: 1 });
    expect(r).toEqual({
      raw: 0x5_0000_0005n,
      status: HvStatus.INVALID_PARAMETER,
      repsCompleted: 5,
      invocations: 2,
    });
  });

  it('repCall stops at once on a status other than SUCCESS', () => {
    const { partition } = makeHypercallPartition();
    const { hc } = cpuOn(partition);
    const r = hc.repCall(0x7fff, 4);
    expect(r).toMatchObject({ status: HvStatus.INVALID_HYPERCALL_CODE, repsCompleted: 0, invocations: 1 });
  });

  it('repCall takes explicit input and output GPAs', () => {
    const { partition } = makeHypercallPartition();
    const { hc } = cpuOn(partition);
    writeU64s(partition, 0x9000n, [0x1000n, 5n]);
    const r = hc.repCall(TestCall.RepDouble, 1, { inputGpa: 0x9000n, outputGpa: 0xa000n });
    expect(r.status).toBe(HvStatus.SUCCESS);
    expect(partition.memory.readU64(0xa000n)).toBe(0x100an);
  });

  it('fast8: HvCallNotifyLongSpinWait with SpinCount in RDX', () => {
    const { partition } = makeHypercallPartition({ vcpus: 2 });
    const { hc } = cpuOn(partition, 1);
    expect(hc.fast8(HvCallCode.HvCallNotifyLongSpinWait, 99n)).toEqual({
      raw: 0n,
      status: 0,
      repsCompleted: 0,
    });
    expect(partition.vp(1).lastSpinCount).toBe(99);
  });

  it('fast16: 16 bytes in RDX and R8', () => {
    const { partition, log } = makeHypercallPartition();
    const { hc } = cpuOn(partition);
    expect(hc.fast16(TestCall.RegisterOnly, 0x0102n, 0x0304n).status).toBe(HvStatus.SUCCESS);
    expect(log.registerOnly[0]?.input).toEqual(Uint8Array.of(2, 1, 0, 0, 0, 0, 0, 0, 4, 3, 0, 0, 0, 0, 0, 0));
  });

  it('fast with XMM output: the output slots come back; none when the call fails', () => {
    const { partition } = makeHypercallPartition();
    const { hc } = cpuOn(partition);
    expect(hc.fast({ callCode: TestCall.Echo }, [0n, 0xffn])).toEqual({
      result: { raw: 0n, status: HvStatus.SUCCESS, repsCompleted: 0 },
      output: [0xffff_ffff_ffff_ffffn, 0xffff_ffff_ffff_ff00n],
    });
    expect(hc.fast({ callCode: TestCall.Echo }, [FAIL_VALUE, 0n])).toMatchObject({
      result: { status: HvStatus.INVALID_PARAMETER },
      output: [],
    });
  });

  it('fast rep call: the elements completed so far come back, across a continuation', () => {
    const { partition } = makeHypercallPartition({ maxRepsPerCall: 1 });
    const { hc } = cpuOn(partition);
    const first = hc.fast({ callCode: TestCall.RepDouble, repCount: 2 }, [0x100n, 1n, 2n]);
    expect(first).toEqual({ result: { raw: 0x1_0000_0000n, status: 0, repsCompleted: 1 }, output: [0x102n] });
    const second = hc.fast({ callCode: TestCall.RepDouble, repCount: 2, repStartIndex: 1 }, [0x100n, 1n, 2n]);
    expect(second).toEqual({
      result: { raw: 0x2_0000_0000n, status: 0, repsCompleted: 2 },
      output: [0x102n, 0x104n],
    });
  });
});

describe('Guest room end to end on a fresh partition', () => {
  it('boot CPU: detect, enable, bring up CPUs 0 and 1, issue a call from each', () => {
    const partition = makePartition({ vcpus: 2 });
    const log = registerTestHypercalls(partition);
    const ctx = (vp: number): GuestContext => ({
      cpu: partitionGuestCpu(partition, vp),
      memory: partition.memory,
    });
    const info = enableHypercalls(ctx(0), { hypercallPageGpa: HYPERCALL_PAGE_GPA });
    const allocator = new GuestPageAllocator(partition.memory, ALLOC_BASE);
    const vpIndexTable = new VpIndexTable(2);
    const cpus = [0, 1].map((cpu) => initCpu(ctx(cpu), { cpu, info, allocator, vpIndexTable }));
    for (const { hypercalls } of cpus) {
      hypercalls.writeInput(new Uint8Array(16));
      expect(hypercalls.call(BigInt(TestCall.Echo)).status).toBe(HvStatus.SUCCESS);
    }
    expect(log.echo.map((c) => c.vp)).toEqual([0, 1]);
    expect(vpIndexTable.maxVpIndex()).toBe(1);
  });
});
