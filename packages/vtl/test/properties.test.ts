import { fc, test } from '@fast-check/vitest';
import { GuestFault, HvCallCode, HvStatus, hvStatusName } from '@pvlab/hypercall';
import { HypercallSuspended } from '@pvlab/hypercall/host';
import { expect } from 'vitest';
import { inputVtl, selectInputVtl } from '../src/wire/input-vtl.ts';
import { HvRegisterName as R } from '../src/wire/registers.ts';
import { FORMS, TestVm } from './fixtures.ts';

const KNOWN_STATUSES = new Set<number>(Object.values(HvStatus));
const CODES = [
  HvCallCode.HvCallGetVpRegisters,
  HvCallCode.HvCallSetVpRegisters,
  HvCallCode.HvCallEnablePartitionVtl,
  HvCallCode.HvCallEnableVpVtl,
  HvCallCode.HvCallVtlCall,
  HvCallCode.HvCallVtlReturn,
] as const;

/** Guest-controlled everything: call, caller, VTL state, input bytes, rep fields, RAX, form. */
const arbCall = fc.record({
  code: fc.constantFrom(...CODES),
  vp: fc.integer({ min: 0, max: 3 }),
  activeVtl: fc.integer({ min: 0, max: 2 }),
  enabled: fc.integer({ min: 0, max: 7 }),
  bytes: fc.uint8Array({ minLength: 0, maxLength: 300 }),
  repCount: fc.integer({ min: 0, max: 9 }),
  repStart: fc.integer({ min: 0, max: 9 }),
  rax: fc.bigInt({ min: 0n, max: 3n }),
  form: fc.constantFrom(...FORMS),
});

test.prop([fc.array(arbCall, { minLength: 1, maxLength: 8 })])(
  'guest input never throws in the host: a known status or a modelled #UD',
  (calls) => {
    const vm = new TestVm();
    for (const c of calls) {
      vm.enable(1, []);
      vm.vtl.vp(c.vp).enabledVtls |= c.enabled | 1;
      vm.vtl.partitionEnabledVtls |= c.enabled;
      if (((vm.vtl.vp(c.vp).enabledVtls >>> c.activeVtl) & 1) === 1) vm.runIn(c.vp, c.activeVtl);
      vm.partition.vp(c.vp).rax = c.rax;
      try {
        const out = vm.call(
          c.form,
          c.vp,
          { callCode: c.code, repCount: c.repCount, repStartIndex: c.repStart },
          c.bytes,
        );
        expect(KNOWN_STATUSES.has(out.status), hvStatusName(out.status)).toBe(true);
        expect(out.reps).toBeLessThanOrEqual(c.repCount);
      } catch (e) {
        if (!(e instanceof GuestFault && e.vector === 'UD')) throw e;
      }
      // The active VTL is always one enabled on the VP.
      const s = vm.vtl.vp(c.vp);
      expect((s.enabledVtls >>> s.activeVtl) & 1).toBe(1);
    }
  },
);

test.prop([
  fc.array(
    fc.record({
      vp: fc.integer({ min: 0, max: 3 }),
      target: fc.integer({ min: 0, max: 3 }),
      lock: fc.boolean(),
    }),
    { maxLength: 30 },
  ),
])('TLB lock: every suspended VP is resumed exactly once, and only when its target unlocks', (ops) => {
  const vm = new TestVm();
  let suspensions = 0;
  for (const op of ops) {
    const resumedBefore = vm.resumed.length;
    const target = op.target;
    if (op.lock) vm.vtl.setTlbFlushInhibit(target, !vm.vtl.tlbLocked(target));
    // Whoever was resumed now waited on a VP that is unlocked.
    for (const r of vm.resumed.slice(resumedBefore)) expect(vm.partition.vp(r).suspendedOn).toBeNull();
    if (vm.partition.vp(op.vp).suspendedOn !== null) continue;
    const b = new Uint8Array(24);
    new DataView(b.buffer).setBigUint64(16, 1n << BigInt(target), true);
    try {
      vm.call('memory', op.vp, { callCode: HvCallCode.HvCallFlushVirtualAddressSpace }, b);
      expect(vm.vtl.tlbLocked(target) && target !== op.vp).toBe(false);
    } catch (e) {
      expect(e).toBeInstanceOf(HypercallSuspended);
      suspensions++;
    }
  }
  for (let t = 0; t < 4; t++) vm.vtl.setTlbFlushInhibit(t, false);
  expect(vm.resumed.length).toBe(suspensions);
  expect(vm.partition.suspendedVps()).toEqual([]);
});

test.prop([fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 2 })])(
  'selectInputVtl: any byte gives a VTL ≤ 2 or undefined, never throws',
  (byte, current) => {
    const v = selectInputVtl(byte, current, 2);
    if (v !== undefined) expect(v).toBeLessThanOrEqual(2);
    else expect((byte & 0xe0) !== 0 || (byte & 0x1f) > 0x12).toBe(true);
  },
);

test.prop([
  fc.array(
    fc.record({
      kind: fc.constantFrom('intercept', 'secure', 'host'),
      target: fc.integer({ min: 0, max: 3 }),
      locked: fc.boolean(),
      inputVtl: fc.integer({ min: 0, max: 1 }),
    }),
    { minLength: 1, maxLength: 20 },
  ),
])('TLB lock: the kept lock of every VP always equals the one worked out from its registers', (ops) => {
  const vm = new TestVm();
  vm.enable(1, [0, 1, 2, 3]);
  vm.runIn(1, 1);
  for (const op of ops) {
    if (op.kind === 'host') vm.vtl.setTlbFlushInhibit(op.target, op.locked);
    else {
      const name = op.kind === 'intercept' ? R.InterceptSuspend : R.VsmVpSecureConfigVtl0;
      // TlbLocked is bit 1 of both; whether the write is allowed is the register file's business.
      vm.set(1, [{ name, value: op.locked ? 2n : 0n }], {
        vpIndex: op.target,
        inputVtl: inputVtl(op.inputVtl),
      });
    }
    for (let t = 0; t < 4; t++) {
      const kept = vm.vtl.tlbLocked(t);
      expect(vm.vtl.refreshTlbLock(t)).toBe(kept);
    }
  }
});
