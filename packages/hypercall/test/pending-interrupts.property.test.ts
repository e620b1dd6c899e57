import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PendingInterrupts } from '../src/index.ts';

describe('PendingInterrupts', () => {
  it('raise, peek, take, pending and mayBePending agree with a set of vectors per VP', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('raise' as const), vp: fc.nat(3), vector: fc.nat(255) }),
      fc.record({ kind: fc.constant('take' as const), vp: fc.nat(3) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const irr = new PendingInterrupts(4);
        const model = [new Set<number>(), new Set<number>(), new Set<number>(), new Set<number>()];
        for (const o of ops) {
          if (o.kind === 'raise') {
            expect(irr.raise(o.vp, o.vector)).toBe(!model[o.vp]!.has(o.vector));
            model[o.vp]!.add(o.vector);
          } else {
            expect(irr.take(o.vp)).toEqual([...model[o.vp]!].sort((a, b) => a - b));
            model[o.vp]!.clear();
          }
          for (let vp = 0; vp < 4; vp++) {
            const expected = [...model[vp]!].sort((a, b) => a - b);
            expect(irr.peek(vp)).toEqual(expected);
            expect(irr.pending(vp)).toBe(expected.length > 0);
            expect(irr.mayBePending(vp)).toBe(expected.length > 0);
          }
        }
      }),
    );
  });
});
