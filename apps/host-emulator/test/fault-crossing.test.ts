import { fc, test } from '@fast-check/vitest';
import { GuestFault } from '@pvlab/hypercall';
import { describe, expect, it } from 'vitest';
import { createVm, runGuest } from '../src/index.ts';
import { Mailboxes } from '../src/threaded/mailbox.ts';
import { MESSAGE_BYTES } from '../src/threaded/mailbox-wire.ts';

/** A fault as plain data, the fields a guest can read. */
function fields(e: GuestFault) {
  return {
    vector: e.vector,
    message: e.message,
    detail: e.detail,
    errorCode: e.errorCode ?? null,
    gpa: e.gpa === undefined ? null : `0x${e.gpa.toString(16)}`,
  };
}

/** The faults of `guests/fault-values.mjs`, raised in the direct harness. */
function directFaults() {
  const vm = createVm({ vcpus: 1 });
  const vp = vm.vp(0);
  const pastRam = BigInt(vm.memory.size) + 0x1000n;
  const attempts = [
    () => vp.readMsr(0x4000_00ffn),
    () => vp.hypercall(0x0008n, 0n, 0n),
    () => {
      vp.writeMsr(0x4000_0000n, 0x8100n << 48n);
      vp.writeMsr(0x4000_0001n, 0x1000n | 1n);
      vp.hypercall(0x0002n, pastRam, 0n);
    },
  ];
  const faults = attempts.map((attempt) => {
    try {
      attempt();
    } catch (e) {
      if (e instanceof GuestFault) return fields(e);
      throw e;
    }
    throw new Error('an attempt that should fault completed');
  });
  vm.close();
  return faults;
}

describe('a guest fault crosses the vCPU mailbox as one value', () => {
  it.each([undefined, 3])(
    'the guest sees the fault the host raised, field by field (seed %s)',
    async (seed) => {
      const vm = createVm({ vcpus: 1 });
      const r = await runGuest(vm, {
        guest: new URL('./guests/fault-values.mjs', import.meta.url),
        ...(seed === undefined ? {} : { seed }),
      });
      vm.close();
      expect(r.failures).toEqual([]);
      const expected = directFaults();
      expect(expected.map((f) => [f.vector, f.errorCode, f.gpa])).toEqual([
        ['GP', 0, null],
        ['UD', null, null],
        ['MEMORY', null, expect.stringMatching(/^0x/)],
      ]);
      expect(r.reports[0]).toEqual({ faults: expected });
    },
  );

  test.prop([
    fc.constantFrom('UD', 'GP', 'MEMORY'),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.option(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { nil: undefined }),
    fc.option(fc.integer({ min: 0, max: 0xffff_ffff }), { nil: undefined }),
    fc.integer({ min: 0, max: 3 }),
  ])('a fault record reads back as the fault written', (vector, message, gpa, errorCode, vp) => {
    const mb = Mailboxes.create(4);
    const fault = new GuestFault(vector, message, gpa, errorCode);
    mb.writeFault(vp, fault.fault);
    const read = mb.readFault(vp);
    expect(read).toBeInstanceOf(GuestFault);
    expect(fields(read)).toEqual(fields(fault));
  });

  it('a message too long for the record is cut, and says so', () => {
    const mb = Mailboxes.create(1);
    mb.writeFault(0, new GuestFault('GP', 'x'.repeat(MESSAGE_BYTES)).fault);
    const read = mb.readFault(0);
    expect(read.detail).toMatch(/^x+ …\[truncated\]$/);
    expect(read.message).toBe(`#GP: ${read.detail}`);
  });
});
