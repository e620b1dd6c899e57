import { describe, expect, it } from 'vitest';
import { encodeHypercallControl as control } from '../src/wire/control.ts';
import { HvStatus } from '../src/wire/status.ts';
import { ECHO_INPUT, ECHO_OUTPUT, SENTINEL, setup } from './dispatcher-fixtures.ts';
import {
  ALL_CORE_FEATURES,
  catchGuestFault,
  FAIL_VALUE,
  fastCall,
  fastOutputOf,
  memoryCall,
  TestCall,
  titled,
} from './fixtures.ts';

const { Echo, RepDouble, RegisterOnly, MemoryOnly, XmmInputOnly } = TestCall;

describe('HypercallDispatcher — fast register form (rule 11 "RDX, R8 = input bytes 0–15")', () => {
  it('input is RDX then R8, little-endian, as if it were the memory layout', () => {
    const { call, log } = setup();
    const regs = fastCall(control({ callCode: RegisterOnly, fast: true }), [
      0x1122_3344_5566_7788n,
      0x99aa_bbcc_ddee_ff00n,
    ]);
    expect(call(regs)).toEqual({ raw: 0n, status: HvStatus.SUCCESS, repsCompleted: 0 });
    expect(log.registerOnly[0]?.input).toEqual(
      Uint8Array.of(
        0x88,
        0x77,
        0x66,
        0x55,
        0x44,
        0x33,
        0x22,
        0x11,
        0x00,
        0xff,
        0xee,
        0xdd,
        0xcc,
        0xbb,
        0xaa,
        0x99,
      ),
    );
  });

  it('RDX and R8 are data, not GPAs: no alignment or RAM check', () => {
    const { call } = setup();
    const regs = fastCall(control({ callCode: RegisterOnly, fast: true }), [3n, 0xffff_ffff_ffff_ffffn]);
    expect(call(regs).status).toBe(HvStatus.SUCCESS);
  });

  it.each(
    titled(
      [
        {
          rule: 'fast on a call that has no fast form → INVALID_HYPERCALL_INPUT',
          value: control({ callCode: MemoryOnly, fast: true }),
        },
        {
          rule: 'rule 11: 24 bytes of input need XMM, which a register-only call has not → INVALID_HYPERCALL_INPUT',
          value: control({ callCode: RegisterOnly, fast: true, variableHeaderSize: 1 }),
        },
      ],
      (c) => c.rule,
    ),
  )('%s', (_title, { value }) => {
    const { call, log } = setup();
    expect(call(fastCall(value, [1n, 2n])).status).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
    expect(log.registerOnly).toEqual([]);
  });
});

describe('HypercallDispatcher — XMM fast form (rule 11 "XMM output starts at the first register pair after the input")', () => {
  it('Echo: 16 bytes in RDX:R8, output in XMM0.lo/XMM0.hi, the other XMM slots untouched', () => {
    const { call } = setup();
    const c = control({ callCode: Echo, fast: true });
    const regs = fastCall(c, [...ECHO_INPUT, ...Array(12).fill(SENTINEL)]);
    const r = call(regs);
    expect(r.status).toBe(HvStatus.SUCCESS);
    expect([regs.rdx, regs.r8]).toEqual(ECHO_INPUT);
    expect([...regs.xmm]).toEqual([...ECHO_OUTPUT, ...Array(10).fill(SENTINEL)]);
    expect(fastOutputOf(regs)).toEqual({ firstSlot: 2, slots: 2 });
  });

  it('"Output: XMM regs after input": with no input at all, output starts at XMM0.lo, never RDX:R8', () => {
    const { partition, call } = setup();
    partition.dispatcher.register({
      kind: 'simple',
      code: 0x7030,
      name: 'TestOutputOnly',
      fixedInputBytes: 0,
      outputBytes: 8,
      fast: 'xmm',
      handler: (c) => {
        c.output.setBigUint64(0, 0x1234n, true);
        return HvStatus.SUCCESS;
      },
    });
    const c = control({ callCode: 0x7030, fast: true });
    const regs = fastCall(c, [SENTINEL, SENTINEL, SENTINEL, SENTINEL]);
    const r = call(regs);
    expect(r.status).toBe(HvStatus.SUCCESS);
    expect([regs.rdx, regs.r8, regs.xmm[0], regs.xmm[1]]).toEqual([SENTINEL, SENTINEL, 0x1234n, SENTINEL]);
    expect(fastOutputOf(regs)).toEqual({ firstSlot: 2, slots: 1 });
  });

  it('Echo failing: no XMM output is written and the registers record none', () => {
    const { call } = setup();
    const c = control({ callCode: Echo, fast: true });
    const regs = fastCall(c, [FAIL_VALUE, 0n, ...Array(12).fill(SENTINEL)]);
    const r = call(regs);
    expect(r.status).toBe(HvStatus.INVALID_PARAMETER);
    expect([...regs.xmm]).toEqual(Array(12).fill(SENTINEL));
    expect(fastOutputOf(regs)).toEqual({ firstSlot: 0, slots: 0 });
  });

  it('a rep call: 8 + 8 + 3 × 8 = 40 input bytes in RDX..XMM1.lo (3 pairs), output from XMM2.lo', () => {
    const { call, log } = setup();
    const c = control({ callCode: RepDouble, fast: true, variableHeaderSize: 1, repCount: 3 });
    const regs = fastCall(c, [0x100n, 0x77n, 1n, 2n, 3n, ...Array(9).fill(SENTINEL)]);
    const r = call(regs);
    expect(r).toMatchObject({ status: HvStatus.SUCCESS, repsCompleted: 3 });
    // slots: 0 RDX, 1 R8, 2 XMM0.lo, 3 XMM0.hi, 4 XMM1.lo | 5 XMM1.hi unused | 6 XMM2.lo, 7 XMM2.hi, 8 XMM3.lo
    expect([...regs.xmm]).toEqual([1n, 2n, 3n, SENTINEL, 0x102n, 0x104n, 0x106n, ...Array(5).fill(SENTINEL)]);
    expect(log.rep[0]?.input.length).toBe(40);
    expect(fastOutputOf(regs)).toEqual({ firstSlot: 6, slots: 3 });
  });

  it('rule 8 with XMM: a time-sliced rep call writes only the completed elements, then continues', () => {
    const { call } = setup({ maxRepsPerCall: 2 });
    const first = control({ callCode: RepDouble, fast: true, repCount: 3 });
    // 8 + 3 × 8 = 32 bytes = 2 pairs: output from slot 4 (XMM1.lo).
    const regs = fastCall(first, [0x100n, 1n, 2n, 3n, ...Array(10).fill(SENTINEL)]);
    const r1 = call(regs);
    expect(r1).toMatchObject({ status: HvStatus.SUCCESS, repsCompleted: 2 });
    expect([...regs.xmm].slice(2, 5)).toEqual([0x102n, 0x104n, SENTINEL]);
    expect(fastOutputOf(regs)).toEqual({ firstSlot: 4, slots: 2 });

    regs.control = control({ callCode: RepDouble, fast: true, repCount: 3, repStartIndex: 2 });
    const r2 = call(regs);
    expect(r2).toMatchObject({ status: HvStatus.SUCCESS, repsCompleted: 3 });
    expect([...regs.xmm].slice(2, 5)).toEqual([0x102n, 0x104n, 0x106n]);
    expect(fastOutputOf(regs)).toEqual({ firstSlot: 4, slots: 3 });
  });

  it.each(
    titled(
      [
        {
          rule: '6 reps: 56 input bytes (4 pairs) + 6 output slots = all 14 slots',
          value: control({ callCode: RepDouble, fast: true, repCount: 6 }),
          status: HvStatus.SUCCESS,
        },
        {
          rule: '7 reps: output would need slot 15 → INVALID_HYPERCALL_INPUT',
          value: control({ callCode: RepDouble, fast: true, repCount: 7 }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'input of 112 bytes (7 pairs) without output fits',
          value: control({ callCode: XmmInputOnly, fast: true, variableHeaderSize: 14 }),
          status: HvStatus.SUCCESS,
        },
        {
          rule: '"Input needing more than 7 register pairs" (120 bytes) → INVALID_HYPERCALL_INPUT',
          value: control({ callCode: XmmInputOnly, fast: true, variableHeaderSize: 15 }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
      ],
      (c) => `rule 11 capacity "112 bytes shared by input and output": ${c.rule}`,
    ),
  )('%s', (_title, { value, status }) => {
    const { call } = setup();
    expect(call(fastCall(value, [])).status).toBe(status);
  });

  it.each(
    titled(
      [
        {
          call: 'Echo (16 bytes of XMM output)',
          value: control({ callCode: Echo, fast: true }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          call: 'an input-only XMM call (24 bytes in, no output)',
          value: control({ callCode: XmmInputOnly, fast: true, variableHeaderSize: 3 }),
          status: HvStatus.SUCCESS,
        },
      ],
      (c) => `rule 11 "output in fast mode without the output feature → INVALID_HYPERCALL_INPUT": ${c.call}`,
    ),
  )('%s', (_title, { value, status }) => {
    const features = ALL_CORE_FEATURES.filter((f) => f !== 'XmmFastHypercallOutput');
    const { call } = setup({ features });
    const regs = fastCall(value, [1n, 2n, ...Array(12).fill(SENTINEL)]);
    expect(call(regs).status).toBe(status);
    expect([...regs.xmm].slice(2)).toEqual(Array(10).fill(SENTINEL));
  });

  it.each(
    titled(
      [
        { call: 'Echo', value: control({ callCode: Echo, fast: true }) },
        {
          call: 'an input-only XMM call',
          value: control({ callCode: XmmInputOnly, fast: true, variableHeaderSize: 3 }),
        },
      ],
      (c) => `rule 13 "XMM-fast call when XMM-input feature not exposed → #UD": ${c.call}`,
    ),
  )('%s', (_title, { value }) => {
    const features = ALL_CORE_FEATURES.filter((f) => f !== 'XmmFastHypercallInput');
    const { call, log } = setup({ features });
    catchGuestFault(() => call(fastCall(value, [1n, 2n])), 'UD');
    expect(log.echo).toEqual([]);
    expect(log.xmmInputOnly).toEqual([]);
  });

  it('rule 13: without the XMM-input feature the plain register form still works', () => {
    const features = ALL_CORE_FEATURES.filter((f) => f !== 'XmmFastHypercallInput');
    const { call } = setup({ features });
    expect(call(fastCall(control({ callCode: RegisterOnly, fast: true }), [1n, 2n])).status).toBe(
      HvStatus.SUCCESS,
    );
  });

  it('the recorded output is reset by every call: a memory-form call and an unknown call record none', () => {
    const { call } = setup();
    const regs = fastCall(control({ callCode: Echo, fast: true }), [...ECHO_INPUT]);
    expect(call(regs).status).toBe(HvStatus.SUCCESS);
    expect(fastOutputOf(regs)).toEqual({ firstSlot: 2, slots: 2 });
    regs.control = control({ callCode: 0x7fff, fast: true });
    expect(call(regs).status).toBe(HvStatus.INVALID_HYPERCALL_CODE);
    expect(fastOutputOf(regs)).toEqual({ firstSlot: 0, slots: 0 });
    const memory = memoryCall(control({ callCode: Echo }), 0x1000n, 0x2000n);
    memory.fastOutputFirstSlot = 5;
    memory.fastOutputSlots = 5;
    expect(call(memory).status).toBe(HvStatus.SUCCESS);
    expect(fastOutputOf(memory)).toEqual({ firstSlot: 0, slots: 0 });
  });
});
