import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { X64HypercallRegisters } from '../src/host/calling-convention.ts';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const lo = (v: bigint) => Number(v & 0xffff_ffffn);
const hi = (v: bigint) => Number(v >> 32n);

describe('X64HypercallRegisters: one register file, seen as u64 values and as u32 halves', () => {
  test.prop([u64, fc.array(u64, { minLength: 14, maxLength: 14 })])(
    'bigints written are the halves `words` reads (RCX, then RDX, R8, XMM0.lo … as slots)',
    (control, slots) => {
      const regs = new X64HypercallRegisters();
      regs.control = control;
      regs.loadSlots(slots);
      expect([regs.words!.controlLo(), regs.words!.controlHi()]).toEqual([lo(control), hi(control)]);
      for (let i = 0; i < 14; i++) {
        expect([regs.words!.slotWord(i, 0), regs.words!.slotWord(i, 1)]).toEqual([
          lo(slots[i]!),
          hi(slots[i]!),
        ]);
      }
      expect([regs.rdx, regs.r8, ...regs.xmm]).toEqual(slots);
    },
  );

  test.prop([fc.array(u32, { minLength: 6, maxLength: 6 }), fc.array(u64, { minLength: 12, maxLength: 12 })])(
    'setWords sets RCX, RDX and R8 from halves and leaves the XMM registers as they were',
    (w, xmm) => {
      const regs = new X64HypercallRegisters();
      regs.xmm.set(xmm);
      regs.setWords(w[0]!, w[1]!, w[2]!, w[3]!, w[4]!, w[5]!);
      const join = (l: number, h: number) => (BigInt(h) << 32n) | BigInt(l);
      expect(regs.control).toBe(join(w[0]!, w[1]!));
      expect([regs.inputGpa, regs.outputGpa]).toEqual([join(w[2]!, w[3]!), join(w[4]!, w[5]!)]);
      expect([...regs.xmm]).toEqual(xmm);
    },
  );

  test.prop([fc.bigInt({ min: -(1n << 70n), max: 1n << 70n })])(
    'a register keeps any bigint modulo 2^64, as hardware does',
    (v) => {
      const regs = new X64HypercallRegisters();
      regs.control = v;
      regs.rdx = v;
      regs.writeFastSlot(13, v);
      const want = BigInt.asUintN(64, v);
      expect([regs.control, regs.rdx, regs.readFastSlot(13)]).toEqual([want, want, want]);
    },
  );
});
