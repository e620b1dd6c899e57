/**
 * A C guest against the real dispatch path (HvPartition from @pvlab/hypercall/testing): every
 * status, rep count and output the host produces reaches C unchanged — the same RAX a JS guest
 * gets for the same call on the same partition.
 */
import { GuestMemory, HV_X64_MSR_VP_INDEX, HvStatus } from '@pvlab/hypercall';
import { GuestProgramFailure } from '@pvlab/hypercall/guest';
import type { RepHypercallDescriptor, SimpleHypercallDescriptor } from '@pvlab/hypercall/host';
import { partitionGuestCpu, testPartition } from '@pvlab/hypercall/testing';
import { describe, expect, it } from 'vitest';
import { CLANG_MISSING } from './helpers/compile.ts';
import { direct, u64 } from './helpers/direct.ts';

const ECHO = 0x7001;
const REP_DOUBLE = 0x7002;
const FAIL_VALUE = 0xdeadn;
const FAST = 1n << 16n;
const INPUT = 0x2000;
const OUTPUT = 0x3000;

/** output = ~input (two u64); INVALID_PARAMETER when input[0] is FAIL_VALUE. */
const echo: SimpleHypercallDescriptor = {
  kind: 'simple',
  code: ECHO,
  name: 'TestEcho',
  fixedInputBytes: 16,
  outputBytes: 16,
  fast: 'xmm',
  handler(call) {
    const a = call.input.getBigUint64(0, true);
    call.output.setBigUint64(0, BigInt.asUintN(64, ~a), true);
    call.output.setBigUint64(8, BigInt.asUintN(64, ~call.input.getBigUint64(8, true)), true);
    return a === FAIL_VALUE ? HvStatus.INVALID_PARAMETER : HvStatus.SUCCESS;
  },
};

/** Each element doubled; an element equal to FAIL_VALUE stops the list with INVALID_PARAMETER. */
const repDouble: RepHypercallDescriptor = {
  kind: 'rep',
  code: REP_DOUBLE,
  name: 'TestRepDouble',
  fixedInputBytes: 8,
  inputElementBytes: 8,
  outputElementBytes: 8,
  fast: 'none',
  handler(call) {
    for (let i = call.repStart; i < call.repEnd; i++) {
      const x = call.input.getBigUint64(call.inputElementOffset(i), true);
      if (x === FAIL_VALUE) return { status: HvStatus.INVALID_PARAMETER, repsCompleted: i };
      call.output.setBigUint64(call.outputElementOffset(i), BigInt.asUintN(64, 2n * x), true);
    }
    return { status: HvStatus.SUCCESS, repsCompleted: call.repEnd };
  },
};

function vm(options: { hypercalls?: boolean } = {}) {
  const memory = new GuestMemory(16 << 20);
  const partition = testPartition({
    memory,
    vcpus: 2,
    ...(options.hypercalls === false ? { hypercallPage: false } : {}),
  });
  partition.dispatcher.register(echo);
  partition.dispatcher.register(repDouble);
  const d = direct('imports', 2, (vp) => partitionGuestCpu(partition, vp), { memory });
  // The same calls from JS, on the same partition, for comparison.
  const js = partitionGuestCpu(partition, 0);
  return { ...d, partition, js, v: d.vcpus[0]! };
}

const rep = (code: number, count: number) => BigInt(code) | (BigInt(count) << 32n);

describe.skipIf(CLANG_MISSING !== undefined)(`C guest on HvPartition ${CLANG_MISSING ?? ''}`, () => {
  it('memory form: success with output, a failing status, an unknown code, a misaligned input — RAX as the host made it', () => {
    const { v, js, memory } = vm();
    const cases: [string, bigint, bigint, bigint[]][] = [
      ['echo', BigInt(ECHO), BigInt(INPUT), [5n, 6n]],
      ['echo fails', BigInt(ECHO), BigInt(INPUT), [FAIL_VALUE, 6n]],
      ['unknown code', 0x7777n, BigInt(INPUT), [0n, 0n]],
      ['misaligned input', BigInt(ECHO), BigInt(INPUT + 4), [0n, 0n]],
      ['rep stops at 2 of 4', rep(REP_DOUBLE, 4), BigInt(INPUT), [0n, 1n, 2n, FAIL_VALUE, 4n]],
      ['rep completes', rep(REP_DOUBLE, 3), BigInt(INPUT), [0n, 1n, 2n, 3n]],
    ];
    for (const [what, control, input, ws] of cases) {
      words(memory, ws);
      const fromC = u64(v.call('hc', control, input, BigInt(OUTPUT)));
      const outC = [memory.readU64(BigInt(OUTPUT)), memory.readU64(BigInt(OUTPUT + 8))];
      words(memory, ws);
      const fromJs = js.hypercall(control, input, BigInt(OUTPUT));
      expect(fromC, what).toBe(fromJs);
      expect(outC, what).toEqual([memory.readU64(BigInt(OUTPUT)), memory.readU64(BigInt(OUTPUT + 8))]);
    }
    // The statuses themselves, so the comparison cannot pass by both sides being wrong the same way.
    words(memory, [FAIL_VALUE, 0n]);
    expect(u64(v.call('hc', BigInt(ECHO), BigInt(INPUT), BigInt(OUTPUT))) & 0xffffn).toBe(
      BigInt(HvStatus.INVALID_PARAMETER),
    );
    expect(u64(v.call('hc', 0x7777n, BigInt(INPUT), BigInt(OUTPUT))) & 0xffffn).toBe(
      BigInt(HvStatus.INVALID_HYPERCALL_CODE),
    );
    expect(u64(v.call('hc', BigInt(ECHO), BigInt(INPUT + 4), BigInt(OUTPUT))) & 0xffffn).toBe(
      BigInt(HvStatus.INVALID_ALIGNMENT),
    );
    words(memory, [0n, 1n, 2n, FAIL_VALUE, 4n]);
    const r = u64(v.call('hc', rep(REP_DOUBLE, 4), BigInt(INPUT), BigInt(OUTPUT)));
    expect([r & 0xffffn, (r >> 32n) & 0xfffn]).toEqual([BigInt(HvStatus.INVALID_PARAMETER), 2n]);
  });

  it('fast and XMM-fast forms: RAX and the XMM output from the dispatcher', () => {
    const { v, memory } = vm();
    expect(u64(v.call('hc_fast', BigInt(ECHO) | FAST, 1n, 2n))).toBe(BigInt(HvStatus.SUCCESS));
    expect(u64(v.call('hc_fast', BigInt(ECHO) | FAST, FAIL_VALUE, 2n)) & 0xffffn).toBe(
      BigInt(HvStatus.INVALID_PARAMETER),
    );
    const regs = v.call('xmm_regs') as number;
    memory.view.setBigUint64(regs, 0x10n, true);
    memory.view.setBigUint64(regs + 8, 0x20n, true);
    expect(u64(v.call('hc_xmm', BigInt(ECHO) | FAST, 2))).toBe(0n);
    // Output in XMM0 (slots 2 and 3): ~input.
    expect([memory.view.getBigUint64(regs + 16, true), memory.view.getBigUint64(regs + 24, true)]).toEqual([
      BigInt.asUintN(64, ~0x10n),
      BigInt.asUintN(64, ~0x20n),
    ]);
  });

  it('MSRs and CPUID through the partition: VP index, #GP as -5 from the _safe forms, the Hyper-V leaf', () => {
    const { vcpus, memory } = vm();
    expect(u64(vcpus[1]!.call('rdmsr', Number(HV_X64_MSR_VP_INDEX)))).toBe(1n);
    expect(vcpus[1]!.call('rdmsr_safe', 0x4000_0fff)).toBe(-5);
    expect(vcpus[1]!.call('wrmsr_safe', Number(HV_X64_MSR_VP_INDEX), 5n)).toBe(-5);
    vcpus[0]!.call('cpuid', 0x4000_0000);
    const out = vcpus[0]!.call('cpuid_ptr') as number;
    const vendor = new TextDecoder().decode(memory.bytes.slice(out + 4, out + 16));
    expect(vendor).toBe('Microsoft Hv');
  });

  it('a hypercall before the hypercall page is enabled is #UD: the program fails naming the C function', () => {
    const { v } = vm({ hypercalls: false });
    let message = '';
    try {
      v.call('hc', BigInt(ECHO), BigInt(INPUT), BigInt(OUTPUT));
    } catch (e) {
      expect(e).toBeInstanceOf(GuestProgramFailure);
      message = (e as Error).message;
    }
    expect(message).toMatch(/^#UD: .* in hc$/);
  });
});

function words(memory: GuestMemory, values: bigint[]): void {
  for (const [i, w] of values.entries()) memory.writeU64(BigInt(INPUT + 8 * i), w);
}
