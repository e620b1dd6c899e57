import { HvStatus } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import {
  CALL_FUNCTION_VECTOR,
  hvFlushTlbOthers,
  hvSendIpi,
  hvSendIpiMask,
  TLB_FLUSH_ALL,
} from '../src/guest/index.ts';
import { answerSuccess, bytes, GuestSmp, u64le, vectorHeader } from './guest-fixtures.ts';

const PGD = 0x0040_0000n;
const USER = 0x7000_0000n;
const KERNEL = 0xffff_8880_0000_0000n;

/** Every VP's TLB holds 8 user pages from USER (under PGD) and a global kernel page. */
function fillTlbs(smp: GuestSmp): void {
  for (const vp of smp.partition.vps) {
    for (let p = 0n; p < 8n; p++)
      vp.tlb.fill(USER + p * 4096n, 0x20_0000n + p * 4096n, { addressSpace: PGD });
    vp.tlb.fill(KERNEL, 0x1000n, { global: true });
  }
}

const userPages = (smp: GuestSmp, vp: number) =>
  smp.partition
    .vp(vp)
    .tlb.entries()
    .filter((e) => !e.global)
    .map((e) => Number((e.gva - USER) / 4096n))
    .sort((a, b) => a - b);
const hasGlobal = (smp: GuestSmp, vp: number) =>
  smp.partition
    .vp(vp)
    .tlb.entries()
    .some((e) => e.global);

describe('hvSendIpiMask on a partition without the tlb-ipi host (0x000B answers INVALID_HYPERCALL_CODE)', () => {
  it('issues fast 0x000B with RDX = vector and R8 = mask, then falls back to one ICR write per target', () => {
    const smp = new GuestSmp({ vcpus: 4 });
    const { cpu, hv, apic } = smp.cpu(0);
    const outcome = hvSendIpiMask(hv, [1, 3], 0xf2, apic);
    expect(cpu.calls).toEqual([
      expect.objectContaining({
        control: 0x1_000bn,
        fast: true,
        input: bytes(vectorHeader(0xf2), u64le(0xan)),
        status: HvStatus.INVALID_HYPERCALL_CODE,
      }),
    ]);
    expect(outcome).toMatchObject({
      path: 'native',
      reason: 'hypercall-failed',
      failed: { status: HvStatus.INVALID_HYPERCALL_CODE },
    });
    expect(cpu.icr).toEqual([
      { target: 1, vector: 0xf2 },
      { target: 3, vector: 0xf2 },
    ]);
    // The targets got it, and every other VP did not.
    expect([0, 1, 2, 3].map((vp) => smp.partition.interrupts.peek(vp))).toEqual([[], [0xf2], [], [0xf2]]);
  });

  it('when the host answers SUCCESS the IPI is the hypercall alone: no ICR write', () => {
    const smp = new GuestSmp({ vcpus: 4 });
    const { cpu, hv, apic } = smp.cpu(2);
    cpu.respond = answerSuccess;
    expect(hvSendIpiMask(hv, [0, 1, 2, 3], 0x40, apic, { excludeSelf: true })).toMatchObject({
      path: 'hypercall',
      status: HvStatus.SUCCESS,
      plan: { name: 'HvCallSendSyntheticClusterIpi', registers: [0x40n, 0xbn] },
    });
    expect(cpu.icr).toEqual([]);
  });

  it('VP ≥ 64: 0x0015 through the per-CPU input page (memory form), then the native fallback', () => {
    const smp = new GuestSmp({ vcpus: 66 });
    const { cpu, hv, apic } = smp.cpu(0);
    hvSendIpiMask(hv, [1, 65], 0x30, apic);
    const [call] = cpu.calls;
    expect(call).toMatchObject({ control: 0x4_0015n, fast: false, variableHeaderSize: 2 });
    expect(call!.input.slice(0, 40)).toEqual(bytes(vectorHeader(0x30), u64le(0n, 0x3n, 0x2n, 0x2n)));
    expect(cpu.icr.map((w) => w.target)).toEqual([1, 65]);
    expect(smp.partition.interrupts.peek(64)).toEqual([]);
  });

  it('without ClusterIpiRecommended there is no hypercall at all (rule 1)', () => {
    const smp = new GuestSmp({ vcpus: 2, hints: [] });
    const { cpu, hv, apic } = smp.cpu(0);
    expect(hvSendIpi(hv, 1, 0xf2, apic)).toEqual({ path: 'native', reason: 'not-recommended' });
    expect(cpu.calls).toEqual([]);
    expect(smp.partition.interrupts.peek(1)).toEqual([0xf2]);
  });

  it('a CPU that is not online yet (VP_INVAL) takes the native path, which still reaches it by APIC id', () => {
    const smp = new GuestSmp({ vcpus: 4, offline: [3] });
    const { cpu, hv, apic } = smp.cpu(0);
    cpu.respond = answerSuccess;
    expect(hvSendIpiMask(hv, [1, 3], 0xf2, apic)).toEqual({ path: 'native', reason: 'vp-inval' });
    expect(cpu.calls).toEqual([]);
    expect(smp.partition.interrupts.peek(3)).toEqual([0xf2]);
  });

  it('the historical bug: without the VP_INVAL test the hypercall "succeeds" and the offline CPU never gets the IPI', () => {
    const smp = new GuestSmp({ vcpus: 4, offline: [3], vpInvalCheck: false });
    const { cpu, hv, apic } = smp.cpu(0);
    cpu.respond = answerSuccess;
    expect(hvSendIpiMask(hv, [1, 3], 0xf2, apic)).toMatchObject({
      path: 'hypercall',
      plan: { registers: [0xf2n, 0x2n] },
    });
    expect(cpu.icr).toEqual([]);
  });
});

describe('hvFlushTlbOthers with the native shootdown (call-function IPI + flush_tlb_func)', () => {
  it('tries 0x0003, then flushes exactly the listed pages on exactly the targets', () => {
    const smp = new GuestSmp({ vcpus: 4 });
    fillTlbs(smp);
    const { cpu, hv, shootdown } = smp.cpu(0);
    const outcome = hvFlushTlbOthers(
      hv,
      [1, 2],
      { pgd: PGD, start: USER + 4096n, end: USER + 5n * 4096n },
      shootdown,
    );
    expect(outcome).toMatchObject({ path: 'native', reason: 'hypercall-failed' });
    expect(cpu.calls).toHaveLength(1);
    expect(cpu.calls[0]).toMatchObject({ control: 0x0000_0001_0000_0003n, repCount: 1 });
    expect(cpu.calls[0]!.input.slice(0, 32)).toEqual(u64le(PGD, 0n, 0x6n, (USER + 4096n) | 3n));
    expect(cpu.icr).toEqual([
      { target: 1, vector: CALL_FUNCTION_VECTOR },
      { target: 2, vector: CALL_FUNCTION_VECTOR },
    ]);
    expect(userPages(smp, 1)).toEqual([0, 5, 6, 7]);
    expect(userPages(smp, 2)).toEqual([0, 5, 6, 7]);
    expect(userPages(smp, 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(userPages(smp, 3)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(shootdown.counters).toEqual({ sent: 1, ipis: 2, served: 0 });
    expect(smp.cpu(1).shootdown.counters.served).toBe(1);
  });

  it('a full flush of every present CPU: ALL_PROCESSORS tried, then every TLB loses its non-global entries', () => {
    const smp = new GuestSmp({ vcpus: 3 });
    fillTlbs(smp);
    const { cpu, hv, shootdown } = smp.cpu(1);
    hvFlushTlbOthers(hv, [0, 1, 2], { pgd: PGD, start: 0n, end: TLB_FLUSH_ALL }, shootdown);
    expect(cpu.calls[0]!.input.slice(0, 24)).toEqual(u64le(PGD, 0x5n, 0n));
    for (const vp of [0, 1, 2]) {
      expect(userPages(smp, vp)).toEqual([]);
      expect(hasGlobal(smp, vp)).toBe(true);
    }
  });

  it('a kernel range over 33 pages is flushed whole on each target, global entries included', () => {
    const smp = new GuestSmp({ vcpus: 2 });
    fillTlbs(smp);
    const { hv, shootdown } = smp.cpu(0);
    hvFlushTlbOthers(hv, [1], { pgd: null, start: KERNEL, end: KERNEL + 64n * 4096n }, shootdown);
    expect(smp.partition.vp(1).tlb.size).toBe(0);
    expect(smp.partition.vp(0).tlb.size).toBe(9);
  });

  it('with SUCCESS from the host, no IPI and no local flush: the flush is the hypercall', () => {
    const smp = new GuestSmp({ vcpus: 2 });
    fillTlbs(smp);
    const { cpu, hv, shootdown } = smp.cpu(0);
    cpu.respond = answerSuccess;
    expect(hvFlushTlbOthers(hv, [1], { pgd: PGD, start: USER, end: USER + 4096n }, shootdown)).toMatchObject({
      path: 'hypercall',
      plan: { name: 'HvCallFlushVirtualAddressList' },
    });
    expect(cpu.icr).toEqual([]);
  });

  it('an empty mask neither calls nor IPIs', () => {
    const smp = new GuestSmp({ vcpus: 2 });
    const { cpu, hv, shootdown } = smp.cpu(0);
    expect(hvFlushTlbOthers(hv, [], { pgd: PGD, start: 0n, end: TLB_FLUSH_ALL }, shootdown)).toEqual({
      path: 'none',
      reason: 'empty-mask',
    });
    expect(cpu.calls).toEqual([]);
    expect(cpu.icr).toEqual([]);
  });

  it('two CPUs shooting each other at once both complete (each serves the other while it waits)', () => {
    const smp = new GuestSmp({ vcpus: 2 });
    fillTlbs(smp);
    const a = smp.cpu(0);
    const b = smp.cpu(1);
    // B's request is already posted when A starts: A's wait loop must serve it.
    let nested = false;
    a.cpu.pauseHook = () => {
      if (!nested) {
        nested = true;
        hvFlushTlbOthers(b.hv, [0], { pgd: PGD, start: USER, end: USER + 4096n }, b.shootdown);
      }
      b.idt.poll();
    };
    hvFlushTlbOthers(a.hv, [1], { pgd: PGD, start: USER + 7n * 4096n, end: USER + 8n * 4096n }, a.shootdown);
    expect(userPages(smp, 0)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(userPages(smp, 1)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
