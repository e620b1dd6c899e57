import { fc, test } from '@fast-check/vitest';
import {
  decodeHypercallResult,
  encodeHypercallControl,
  HV_X64_MSR_GUEST_OS_ID,
  HV_X64_MSR_HYPERCALL,
  HV_X64_MSR_VP_INDEX,
  HvCallCode,
  HvStatus,
} from '@pvlab/hypercall';
import {
  enableTestHypercalls,
  HYPERCALL_PAGE_GPA,
  INPUT_GPA,
  LINUX_GUEST_OS_ID,
  OUTPUT_GPA,
} from '@pvlab/hypercall/testing';
import { describe, expect, it } from 'vitest';
import {
  ConformanceError,
  createVm,
  GuestFault,
  isGuestFault,
  type Vm,
  VmOptionError,
} from '../src/index.ts';

const NOTIFY = HvCallCode.HvCallNotifyLongSpinWait;

function status(result: bigint): number {
  return decodeHypercallResult(result).status;
}

describe('createVm options', () => {
  it('defaults to one x64 VP with 16 MiB and strict mode', () => {
    const vm = createVm();
    expect(vm.vcpus).toBe(1);
    expect(vm.memory.size).toBe(16 * 1024 * 1024);
    expect(vm.options).toMatchObject({ arch: 'x64', strict: true, vendor: 'intel' });
    vm.close();
  });

  it.each([
    [{ vcpus: 0 }, /vcpus = 0/],
    [{ vcpus: 4097 }, /vcpus = 4097/],
    [{ vcpus: 1.5 }, /vcpus = 1.5/],
    [{ memoryBytes: 4095 }, /memoryBytes = 4095/],
    [{ memoryBytes: 8192 + 1 }, /memoryBytes = 8193.*multiple of 4096/],
    [{ vendor: 'via' }, /vendor = 'via'/],
    [{ arch: 'sparc' }, /arch = 'sparc': accepted: 'x64', 'arm64'/],
    [
      { features: { NoSuchFeature: false } },
      /features\.NoSuchFeature = false: unknown feature; accepted: Access/,
    ],
    [
      { packages: { 'no-such-package': false } },
      /packages\.no-such-package.*unknown package; accepted: tlb-ipi, vtl, vmbus-ring, pv-time/,
    ],
    [{ tlbFlush: 'fifo' }, /tlbFlush = 'fifo': accepted: 'precise', 'kvm-fifo'/],
    [{ tlbFlush: 'kvm-fifo', packages: { 'tlb-ipi': false } }, /tlbFlush = 'kvm-fifo': is a tlb-ipi option/],
    [{ vcpu: 4 }, /option vcpu = 4: unknown option; accepted: vcpus/],
    [{ maxRepsPerCall: 0 }, /maxRepsPerCall = 0/],
  ])('rejects %j with a one-line error naming the option', (options, message) => {
    expect(() => createVm(options as never)).toThrow(VmOptionError);
    try {
      createVm(options as never);
    } catch (e) {
      expect((e as Error).message).toMatch(message);
      expect((e as Error).message).not.toContain('\n');
    }
  });

  it("accepts { packages: { 'tlb-ipi': false, vtl: false, 'vmbus-ring': false } } and installs only the core", () => {
    const vm = createVm({ packages: { 'tlb-ipi': false, vtl: false, 'vmbus-ring': false } });
    expect(vm.partition.packages).toEqual(['hypercall']);
    vm.close();
  });
});

describe('vm.memory', () => {
  it('writes and reads bytes by GPA', () => {
    const vm = createVm({ memoryBytes: 64 * 1024 });
    vm.memory.write(0x1ff8n, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9));
    expect([...vm.memory.read(0x1ffcn, 5)]).toEqual([5, 6, 7, 8, 9]);
    vm.close();
  });

  it('faults (MEMORY) on an access beyond RAM instead of throwing a RangeError', () => {
    const vm = createVm({ memoryBytes: 64 * 1024 });
    expect(() => vm.memory.read(0x1_0000n - 2n, 4)).toThrow(GuestFault);
    expect(() => vm.memory.write(0x1_0000n, Uint8Array.of(1))).toThrow(/outside RAM/);
    vm.close();
  });
});

describe('vm.vp(i)', () => {
  it('names the valid range for a bad index', () => {
    const vm = createVm({ vcpus: 2 });
    expect(() => vm.vp(2)).toThrow('vp(2): this VM has VPs 0..1');
    expect(() => vm.vp(-1)).toThrow(RangeError);
    vm.close();
  });

  it('reads its own VP index from HV_X64_MSR_VP_INDEX (VP 2 and VP 65, across the bank boundary)', () => {
    const vm = createVm({ vcpus: 66 });
    expect(vm.vp(2).readMsr(HV_X64_MSR_VP_INDEX)).toBe(2n);
    expect(vm.vp(65).readMsr(HV_X64_MSR_VP_INDEX)).toBe(65n);
    vm.close();
  });

  it('raises #GP for an unknown MSR and for writing VP_INDEX', () => {
    const vm = createVm();
    expect(() => vm.vp(0).readMsr(0x4000_00ffn)).toThrow(expect.objectContaining({ vector: 'GP' }));
    expect(() => vm.vp(0).writeMsr(HV_X64_MSR_VP_INDEX, 3n)).toThrow(
      expect.objectContaining({ vector: 'GP' }),
    );
    vm.close();
  });
});

describe('hypercalls through the harness', () => {
  it('raise #UD before the hypercall MSR is enabled, and succeed after', () => {
    const vm = createVm();
    const control = encodeHypercallControl({ callCode: NOTIFY });
    expect(() => vm.vp(0).hypercall(control, INPUT_GPA, OUTPUT_GPA)).toThrow(
      expect.objectContaining({ vector: 'UD' }),
    );
    enableTestHypercalls(vm.vp(0));
    expect(vm.vp(0).hypercall(control, INPUT_GPA, OUTPUT_GPA)).toBe(0n);
    vm.close();
  });

  it('fills the hypercall page with VMCALL; RET (Intel) or VMMCALL; RET (AMD)', () => {
    for (const [vendor, bytes] of [
      ['intel', [0x0f, 0x01, 0xc1, 0xc3]],
      ['amd', [0x0f, 0x01, 0xd9, 0xc3]],
    ] as const) {
      const vm = createVm({ vendor });
      enableTestHypercalls(vm.vp(0));
      expect([...vm.memory.read(HYPERCALL_PAGE_GPA, 4)]).toEqual(bytes);
      vm.close();
    }
  });

  it('HvCallNotifyLongSpinWait: memory and fast forms reach the handler with the SpinCount', () => {
    const vm = createVm({ vcpus: 2 });
    enableTestHypercalls(vm.vp(0));
    vm.memory.write(INPUT_GPA, Uint8Array.of(0x34, 0x12, 0, 0, 0, 0, 0, 0));
    expect(
      status(vm.vp(1).hypercall(encodeHypercallControl({ callCode: NOTIFY }), INPUT_GPA, OUTPUT_GPA)),
    ).toBe(HvStatus.SUCCESS);
    expect(vm.vp(1).longSpinWaits).toEqual({ count: 1, lastSpinCount: 0x1234 });
    const fast = vm.vp(1).fastHypercall(encodeHypercallControl({ callCode: NOTIFY, fast: true }), [0x99n]);
    expect(fast).toEqual({ result: 0n, output: [] });
    expect(vm.vp(1).longSpinWaits).toEqual({ count: 2, lastSpinCount: 0x99 });
    expect(vm.vp(0).longSpinWaits.count).toBe(0);
    vm.close();
  });

  it.each([
    [
      'the spin-wait count is 0xFFFFFFFF (never notify)',
      { spinWaitRetryCount: 0xffff_ffff },
      HvStatus.ACCESS_DENIED,
    ],
    ['the spin-wait count is 0', { spinWaitRetryCount: 0 }, HvStatus.ACCESS_DENIED],
    ['the spin-wait count is recommended', { spinWaitRetryCount: 0xfff }, HvStatus.SUCCESS],
  ])('HvCallNotifyLongSpinWait when %s', (_name, options, expected) => {
    const vm = createVm(options);
    enableTestHypercalls(vm.vp(0));
    expect(
      status(vm.vp(0).hypercall(encodeHypercallControl({ callCode: NOTIFY }), INPUT_GPA, OUTPUT_GPA)),
    ).toBe(expected);
    vm.close();
  });

  it('an unknown call code answers INVALID_HYPERCALL_CODE', () => {
    const vm = createVm();
    enableTestHypercalls(vm.vp(0));
    expect(status(vm.vp(0).hypercall(0x7777n, INPUT_GPA, OUTPUT_GPA))).toBe(HvStatus.INVALID_HYPERCALL_CODE);
    vm.close();
  });
});

describe('interrupts on the direct harness', () => {
  it('a native IPI (x2APIC ICR write) is pending on exactly its target until taken', () => {
    const vm = createVm({ vcpus: 66 });
    vm.vp(0).writeMsr(0x830n, (65n << 32n) | 0x31n);
    vm.vp(0).writeMsr(0x830n, (2n << 32n) | 0x30n);
    vm.vp(0).writeMsr(0x830n, (2n << 32n) | 0x32n);
    expect(vm.vp(2).takeInterrupts()).toEqual([0x30, 0x32]);
    expect(vm.vp(65).takeInterrupts()).toEqual([0x31]);
    for (const other of [0, 1, 3, 64]) expect(vm.vp(other).takeInterrupts()).toEqual([]);
    expect(vm.vp(2).takeInterrupts()).toEqual([]);
    vm.close();
  });

  it('drops illegal vectors (< 16) and absent destinations; reserved ICR bits are #GP', () => {
    const vm = createVm({ vcpus: 2 });
    vm.vp(0).writeMsr(0x830n, (1n << 32n) | 0x0fn);
    vm.vp(0).writeMsr(0x830n, (9n << 32n) | 0x40n);
    expect(vm.vp(1).takeInterrupts()).toEqual([]);
    expect(() => vm.vp(0).writeMsr(0x830n, (1n << 32n) | (1n << 12n) | 0x40n)).toThrow(
      expect.objectContaining({ vector: 'GP' }),
    );
    vm.close();
  });

  it('shorthands: self, all including self, all excluding self', () => {
    const vm = createVm({ vcpus: 3 });
    vm.vp(1).writeMsr(0x830n, (1n << 18n) | 0x50n);
    vm.vp(1).writeMsr(0x830n, (2n << 18n) | 0x51n);
    vm.vp(1).writeMsr(0x830n, (3n << 18n) | 0x52n);
    expect(vm.vp(0).takeInterrupts()).toEqual([0x51, 0x52]);
    expect(vm.vp(1).takeInterrupts()).toEqual([0x50, 0x51]);
    expect(vm.vp(2).takeInterrupts()).toEqual([0x51, 0x52]);
    vm.close();
  });
});

describe('vm.vp(i).tlb', () => {
  it('fill and lookup per VP; INVLPG and local flushes act on that VP only', () => {
    const vm = createVm({ vcpus: 66 });
    for (const vp of [2, 65]) {
      vm.vp(vp).tlb.fill(0x7000_1000n, 0x5000n, { addressSpace: 0x1000n });
      vm.vp(vp).tlb.fill(0x7000_2000n, 0x6000n, { global: true });
    }
    expect(vm.vp(2).tlb.lookup(0x7000_1008n, 0x1000n)).toBe(0x5008n);
    vm.vp(2).invlpg(0x7000_1000n);
    expect(vm.vp(2).tlb.lookup(0x7000_1000n, 0x1000n)).toBeUndefined();
    expect(vm.vp(65).tlb.lookup(0x7000_1000n, 0x1000n)).toBe(0x5000n);
    vm.vp(65).flushLocalTlb();
    expect(vm.vp(65).tlb.lookup(0x7000_1000n, 0x1000n)).toBeUndefined();
    expect(vm.vp(65).tlb.lookup(0x7000_2000n)).toBe(0x6000n);
    vm.vp(65).flushLocalTlb(true);
    expect(vm.vp(65).tlb.size).toBe(0);
    expect(vm.vp(2).tlb.lookup(0x7000_2000n)).toBe(0x6000n);
    vm.close();
  });
});

describe('features option', () => {
  it('dropping AccessHypercallMsrs clears its CPUID bit and makes the MSRs #GP', () => {
    const on = createVm();
    const off = createVm({ features: { AccessHypercallMsrs: false } });
    expect((on.cpuid(0x4000_0003).eax >>> 5) & 1).toBe(1);
    expect((off.cpuid(0x4000_0003).eax >>> 5) & 1).toBe(0);
    expect(() => off.vp(0).writeMsr(HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID)).toThrow(
      expect.objectContaining({ vector: 'GP' }),
    );
    on.vp(0).writeMsr(HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
    expect(on.vp(0).readMsr(HV_X64_MSR_GUEST_OS_ID)).toBe(LINUX_GUEST_OS_ID);
    on.close();
    off.close();
  });

  it('dropping XmmFastHypercallInput makes an XMM fast call #UD (KVM, spec 01 rule 13)', () => {
    const vm = createVm({ features: { XmmFastHypercallInput: false } });
    enableTestHypercalls(vm.vp(0));
    vm.registerHypercall({
      kind: 'simple',
      code: 0x7f00,
      name: 'TestXmmCall',
      fixedInputBytes: 32,
      outputBytes: 0,
      fast: 'xmm',
      handler: () => HvStatus.SUCCESS,
    });
    expect(() =>
      vm.vp(0).fastHypercall(encodeHypercallControl({ callCode: 0x7f00, fast: true }), [1n, 2n, 3n, 4n]),
    ).toThrow(expect.objectContaining({ vector: 'UD' }));
    vm.close();
  });
});

describe('XMM fast output through fastHypercall', () => {
  it('returns the output slots after the input pairs, and none on failure', () => {
    const vm = createVm();
    enableTestHypercalls(vm.vp(0));
    vm.registerHypercall({
      kind: 'simple',
      code: 0x7f01,
      name: 'TestEcho',
      fixedInputBytes: 24,
      outputBytes: 16,
      fast: 'xmm',
      handler(call) {
        const a = call.input.getBigUint64(0, true);
        if (a === 0n) return HvStatus.INVALID_PARAMETER;
        call.output.setBigUint64(0, a + call.input.getBigUint64(8, true), true);
        call.output.setBigUint64(8, call.input.getBigUint64(16, true), true);
        return HvStatus.SUCCESS;
      },
    });
    const control = encodeHypercallControl({ callCode: 0x7f01, fast: true });
    // 24 input bytes occupy RDX:R8 and XMM0, so the output starts at XMM1.
    expect(vm.vp(0).fastHypercall(control, [5n, 6n, 7n])).toEqual({ result: 0n, output: [11n, 7n] });
    const failed = vm.vp(0).fastHypercall(control, [0n, 6n, 7n]);
    expect(status(failed.result)).toBe(HvStatus.INVALID_PARAMETER);
    expect(failed.output).toEqual([]);
    vm.close();
  });

  it('refuses more than 14 input slots', () => {
    const vm = createVm();
    enableTestHypercalls(vm.vp(0));
    expect(() =>
      vm
        .vp(0)
        .fastHypercall(
          encodeHypercallControl({ callCode: NOTIFY, fast: true }),
          new Array<bigint>(15).fill(0n),
        ),
    ).toThrow(/at most 14/);
    vm.close();
  });
});

describe('strict mode', () => {
  const overlapping = (vm: Vm) => {
    enableTestHypercalls(vm.vp(0));
    vm.registerHypercall({
      kind: 'simple',
      code: 0x7f02,
      name: 'TestInOut',
      fixedInputBytes: 8,
      outputBytes: 8,
      handler: () => HvStatus.SUCCESS,
    });
    // Input and output lists share the same 8 bytes: tolerated, but a rule-6 diagnostic.
    return vm.vp(0).hypercall(encodeHypercallControl({ callCode: 0x7f02 }), INPUT_GPA, INPUT_GPA);
  };

  it('records overlapping input and output lists and fails close() with the diagnostics', () => {
    const vm = createVm();
    expect(overlapping(vm)).toBe(0n);
    expect(vm.diagnostics()).toEqual([expect.objectContaining({ rule: 'spec01.rule6.overlap', vp: 0 })]);
    expect(() => vm.close()).toThrow(ConformanceError);
  });

  it('close() passes once the diagnostics were taken', () => {
    const vm = createVm();
    overlapping(vm);
    expect(vm.takeDiagnostics()).toHaveLength(1);
    expect(() => vm.close()).not.toThrow();
  });

  it('is off with strict: false', () => {
    const vm = createVm({ strict: false });
    overlapping(vm);
    expect(vm.diagnostics()).toHaveLength(1);
    expect(() => vm.close()).not.toThrow();
  });

  it('a closed VM refuses further use', () => {
    const vm = createVm();
    vm.close();
    expect(() => vm.vp(0).readMsr(HV_X64_MSR_VP_INDEX)).toThrow('this VM is closed');
  });
});

describe('guest-controlled input never throws in the host', () => {
  const vm = createVm({ memoryBytes: 64 * 1024, strict: false, maxRepsPerCall: 3 });
  enableTestHypercalls(vm.vp(0));

  test.prop(
    [
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    ],
    {
      numRuns: 300,
    },
  )('random control, input GPA and output GPA give a result or a GuestFault', (control, inGpa, outGpa) => {
    try {
      const r = vm.vp(0).hypercall(control, inGpa, outGpa);
      expect(r >= 0n && r < 1n << 64n).toBe(true);
    } catch (e) {
      expect(isGuestFault(e)).toBe(true);
    }
  });

  test.prop(
    [
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 14 }),
    ],
    {
      numRuns: 300,
    },
  )('random fast calls give a result or a GuestFault', (control, slots) => {
    try {
      const { result } = vm.vp(0).fastHypercall(control, slots);
      expect(typeof result).toBe('bigint');
    } catch (e) {
      expect(isGuestFault(e)).toBe(true);
    }
  });

  test.prop([fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })], {
    numRuns: 300,
  })('random MSR writes and reads give a value or #GP', (msr, value) => {
    // Leave the hypercall MSRs alone so the other properties keep running with hypercalls on.
    fc.pre(msr !== HV_X64_MSR_GUEST_OS_ID && msr !== HV_X64_MSR_HYPERCALL);
    try {
      vm.vp(0).writeMsr(msr, value);
      expect(typeof vm.vp(0).readMsr(msr)).toBe('bigint');
    } catch (e) {
      expect(isGuestFault(e, 'GP')).toBe(true);
    }
  });
});
