import { fc, test } from '@fast-check/vitest';
import { GuestFault, HvCallCode, HvStatus } from '@pvlab/hypercall';
import { X64HypercallRegisters } from '@pvlab/hypercall/host';
import { describe, expect } from 'vitest';
import { HV_MAX_VP_INDEX, VpIndexSet, vpSetBytes, writeSparseVpSet } from '../src/wire/vp-set.ts';
import { expectOnlyChanged, INPUT_GPA, OUTPUT_GPA, processorMask, TestVm, VCPUS } from './host-fixtures.ts';

const CODES = [
  HvCallCode.HvCallFlushVirtualAddressSpace,
  HvCallCode.HvCallFlushVirtualAddressList,
  HvCallCode.HvCallFlushVirtualAddressSpaceEx,
  HvCallCode.HvCallFlushVirtualAddressListEx,
  HvCallCode.HvCallSendSyntheticClusterIpi,
  HvCallCode.HvCallSendSyntheticClusterIpiEx,
] as const;
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

const LIST_CODES: readonly number[] = [
  HvCallCode.HvCallFlushVirtualAddressList,
  HvCallCode.HvCallFlushVirtualAddressListEx,
];
const EX_CODES: readonly number[] = [
  HvCallCode.HvCallFlushVirtualAddressSpaceEx,
  HvCallCode.HvCallFlushVirtualAddressListEx,
  HvCallCode.HvCallSendSyntheticClusterIpiEx,
];

/** Controls the dispatcher accepts for the call (so the handler runs), with small shapes that fit registers. */
const wellShaped = fc
  .record({
    code: fc.constantFrom(...CODES),
    fast: fc.boolean(),
    varHdr: fc.integer({ min: 0, max: 3 }),
    repCount: fc.integer({ min: 1, max: 8 }),
    repStart: fc.integer({ min: 0, max: 7 }),
  })
  .map((c) => {
    const list = LIST_CODES.includes(c.code);
    const varHdr = EX_CODES.includes(c.code) ? c.varHdr : 0;
    const repCount = list ? c.repCount : 0;
    const repStart = list ? c.repStart % repCount : 0;
    return (
      BigInt(c.code) |
      (BigInt(c.fast ? 1 : 0) << 16n) |
      (BigInt(varHdr) << 17n) |
      (BigInt(repCount) << 32n) |
      (BigInt(repStart) << 48n)
    );
  });

/** Mostly well-shaped controls for the six calls, sometimes any field values or any 64-bit value. */
const control = fc.oneof(
  { arbitrary: wellShaped, weight: 4 },
  {
    arbitrary: fc
      .record({
        code: fc.constantFrom(...CODES),
        fast: fc.boolean(),
        varHdr: fc.integer({ min: 0, max: 0x3ff }),
        repCount: fc.integer({ min: 0, max: 0xfff }),
        repStart: fc.integer({ min: 0, max: 0xfff }),
      })
      .map(
        (c) =>
          BigInt(c.code) |
          (BigInt(c.fast ? 1 : 0) << 16n) |
          (BigInt(c.varHdr) << 17n) |
          (BigInt(c.repCount) << 32n) |
          (BigInt(c.repStart) << 48n),
      ),
    weight: 1,
  },
  { arbitrary: u64.map((v) => (v & ~0xffffn) | BigInt(CODES[Number(v % 6n)]!)), weight: 1 },
);

/** Input slots biased toward meaningful values: small flags, formats, masks and vectors. */
const slot = fc.oneof(
  u64,
  fc.bigInt({ min: 0n, max: 0x1ffn }),
  fc.constantFrom(0n, 1n, 2n, 0xfen, 0x10n, 0xffn, 0x3n, 1n << 63n, 0xffff_ffff_ffff_ffffn),
);

const VMS = {
  precise: new TestVm(),
  'kvm-fifo': new TestVm({ flush: 'kvm-fifo' }),
  sliced: new TestVm({ maxRepsPerCall: 3 }),
};

describe('random guest input never throws anything but a GuestFault', () => {
  test.prop(
    [
      fc.constantFrom(...(Object.keys(VMS) as (keyof typeof VMS)[])),
      fc.integer({ min: 0, max: VCPUS - 1 }),
      control,
      fc.array(slot, { minLength: 14, maxLength: 14 }),
      fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 3 },
        { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4096 }), weight: 1 },
      ),
      fc.oneof({ arbitrary: fc.constant(INPUT_GPA), weight: 4 }, { arbitrary: u64, weight: 1 }),
    ],
    { numRuns: 1000 },
  )(
    'control, input page bytes (or the slots, in memory), GPA and fast slots',
    (vmName, vp, ctl, slots, page, inputGpa) => {
      const vm = VMS[vmName];
      vm.partition.memory.fill(INPUT_GPA, 4096, 0);
      if (page !== undefined) vm.partition.memory.write(INPUT_GPA, page);
      else
        slots.forEach((v, i) => {
          vm.partition.memory.writeU64(INPUT_GPA + BigInt(8 * i), v);
        });
      const regs = new X64HypercallRegisters();
      regs.control = ctl;
      regs.loadSlots(slots);
      if ((ctl & (1n << 16n)) === 0n) {
        regs.rdx = inputGpa;
        regs.r8 = OUTPUT_GPA;
      }
      try {
        const result = vm.partition.hypercall(vp, regs);
        const status = Number(result & 0xffffn);
        expect([
          HvStatus.SUCCESS,
          HvStatus.INVALID_HYPERCALL_INPUT,
          HvStatus.INVALID_ALIGNMENT,
          HvStatus.INVALID_PARAMETER,
        ]).toContain(status);
      } catch (e) {
        expect(e).toBeInstanceOf(GuestFault);
      }
      vm.partition.interrupts.take(vp);
    },
  );
});

describe('targets are exactly the set, whatever its shape', () => {
  const vps = fc.uniqueArray(fc.integer({ min: 0, max: HV_MAX_VP_INDEX }), { maxLength: 40 });
  const vm = new TestVm();

  test.prop([
    vps,
    fc.constantFrom('compact' as const, 'dense' as const),
    fc.integer({ min: 0x10, max: 0xff }),
  ])(
    'HvCallSendSyntheticClusterIpiEx delivers to set ∩ VPs of the VM, in ascending order',
    (set, layout, vector) => {
      const view = new DataView(new ArrayBuffer(8 + vpSetBytes(64)));
      view.setUint32(0, vector, true);
      const banks = writeSparseVpSet(view, 8, VpIndexSet.of(...set), layout);
      vm.partition.memory.write(INPUT_GPA, new Uint8Array(view.buffer, 0, 8 + vpSetBytes(banks)));
      vm.woken.length = 0;
      const out = vm.call(
        'memory',
        0,
        { callCode: HvCallCode.HvCallSendSyntheticClusterIpiEx, variableHeaderSize: banks },
        [],
      );
      expect(out.status).toBe(HvStatus.SUCCESS);
      const expected = [...set].filter((vp) => vp < VCPUS).sort((a, b) => a - b);
      expect(vm.woken).toEqual(expected.map((vp) => [vp, vector]));
      for (const vp of expected) vm.partition.interrupts.take(vp);
    },
  );

  test.prop([fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { maxLength: 10 }), fc.constantFrom(0n, 4n)])(
    'HvCallFlushVirtualAddressSpace flushes exactly the ProcessorMask, every other VP untouched',
    (set, flags) => {
      const fresh = new TestVm({ vcpus: 70 });
      fresh.fillAll();
      const before = fresh.snapshot();
      const out = fresh.call('fast', 1, { callCode: HvCallCode.HvCallFlushVirtualAddressSpace }, [
        0x1_2000n,
        flags,
        processorMask(set),
      ]);
      expect(out.status).toBe(HvStatus.SUCCESS);
      expectOnlyChanged(before, fresh.snapshot(), set);
    },
  );
});
