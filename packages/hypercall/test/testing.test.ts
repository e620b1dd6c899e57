import { describe, expect, it } from 'vitest';
import {
  enableTestHypercalls,
  HYPERCALL_PAGE_GPA,
  INPUT_GPA,
  LINUX_GUEST_OS_ID,
  OUTPUT_GPA,
  partitionGuest,
  partitionGuestCpu,
  rawCall,
  testPartition,
} from '../src/testing/index.ts';
import { HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL } from '../src/wire/msr.ts';
import { HvStatus } from '../src/wire/status.ts';
import { ALL_CORE_FEATURES, registerTestHypercalls, TestCall } from './fixtures.ts';

describe('@pvlab/hypercall/testing', () => {
  it('testPartition: 64 KiB, 2 VPs, core features, hypercalls enabled from VP 0', () => {
    const p = testPartition();
    expect(p.memory.size).toBe(0x1_0000);
    expect(p.vps.length).toBe(2);
    expect(p.hypercallsEnabled).toBe(true);
    expect(p.guestOsId).toBe(LINUX_GUEST_OS_ID);
    expect(p.readMsr(0, HV_X64_MSR_HYPERCALL)).toBe(HYPERCALL_PAGE_GPA | 1n);
  });

  it('testPartition: hypercallPage false leaves hypercalls off; drop removes feature bits', () => {
    const p = testPartition({ hypercallPage: false, drop: ['AccessVpIndex'] });
    expect(p.hypercallsEnabled).toBe(false);
    expect((p.cpuid(0x4000_0003).eax >>> 1) & 1).toBe(0);
    expect((p.cpuid(0x4000_0003).eax >>> 5) & 1).toBe(1);
  });

  it('enableTestHypercalls writes GUEST_OS_ID then HYPERCALL through a GuestCpu too', () => {
    const p = testPartition({ hypercallPage: false });
    const writes: bigint[] = [];
    const cpu = partitionGuestCpu(p, 1);
    enableTestHypercalls(
      {
        writeMsr: (msr: bigint, value: bigint) => {
          writes.push(msr);
          cpu.writeMsr(msr, value);
        },
      },
      0x5000n,
    );
    expect(writes).toEqual([HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL]);
    expect(p.readMsr(1, HV_X64_MSR_HYPERCALL)).toBe(0x5001n);
  });

  it('enableTestHypercalls refuses an unaligned page, naming the value', () => {
    expect(() => enableTestHypercalls(testPartition({ hypercallPage: false }), 0x1004n)).toThrow(
      'enableTestHypercalls: pageGpa = 0x1004 is not 4 KiB aligned',
    );
  });

  it('rawCall memory form: the input at INPUT_GPA, the output at OUTPUT_GPA', () => {
    const p = testPartition({ features: ALL_CORE_FEATURES });
    registerTestHypercalls(p);
    const r = rawCall(p, 1, { callCode: TestCall.Echo }, [1n, 2n]);
    expect(r).toMatchObject({ status: HvStatus.SUCCESS, repsCompleted: 0, result: 0n });
    expect(p.memory.readU64(INPUT_GPA)).toBe(1n);
    expect(p.memory.readU64(OUTPUT_GPA + 8n)).toBe(BigInt.asUintN(64, ~2n));
  });

  it('rawCall fast form: bytes cut into slots, output in the returned registers', () => {
    const p = testPartition({ features: ALL_CORE_FEATURES });
    registerTestHypercalls(p);
    const bytes = new Uint8Array(16);
    bytes[0] = 7;
    const r = rawCall(p, 0, { callCode: TestCall.Echo, fast: true }, bytes);
    expect(r.status).toBe(HvStatus.SUCCESS);
    expect(r.regs.readFastSlot(r.regs.fastOutputFirstSlot)).toBe(BigInt.asUintN(64, ~7n));
  });

  it('rawCall: rdx moves the input GPA the guest passes while the list stays put', () => {
    const p = testPartition({ features: ALL_CORE_FEATURES });
    registerTestHypercalls(p);
    const r = rawCall(p, 0, { callCode: TestCall.Echo }, [1n, 2n], { rdx: INPUT_GPA + 4n });
    expect(r.status).toBe(HvStatus.INVALID_ALIGNMENT);
  });

  it('rawCall refuses more fast slots than registers', () => {
    const p = testPartition();
    expect(() => rawCall(p, 0, { callCode: TestCall.Echo, fast: true }, Array(15).fill(0n))).toThrow(
      'rawCall: 15 input slots do not fit in registers; accepted: at most 14',
    );
  });

  it('partitionGuest: a counting CPU and hypercall helpers on its own pages', () => {
    const p = testPartition({ features: ALL_CORE_FEATURES });
    registerTestHypercalls(p);
    const { cpu, ctx, hypercalls } = partitionGuest(p, 1, { inputGpa: 0x4000n, outputGpa: 0x5000n });
    expect(ctx.memory).toBe(p.memory);
    expect(hypercalls.pages).toMatchObject({ inputGpa: 0x4000n, outputGpa: 0x5000n });
    expect(cpu.fastHypercall(BigInt(TestCall.Echo) | (1n << 16n), [0n, 0n])).toEqual({
      result: 0n,
      output: [BigInt.asUintN(64, ~0n), BigInt.asUintN(64, ~0n)],
    });
    expect(cpu.vmcalls).toBe(1);
    expect(() => cpu.fastHypercall(0n, Array(15).fill(0n))).toThrow(/at most 14 input values/);
  });
});
