import { describe, expect, it } from 'vitest';
import type { HypercallRecord } from '../src/host/call-record.ts';
import { X64HypercallRegisters } from '../src/host/calling-convention.ts';
import type { RepOutcome } from '../src/host/descriptor.ts';
import { HostInvariantError } from '../src/host/dispatcher.ts';
import { HvCallCode } from '../src/wire/call-code.ts';
import { encodeHypercallControl as control } from '../src/wire/control.ts';
import { decodeHypercallResult } from '../src/wire/result.ts';
import { HvStatus } from '../src/wire/status.ts';
import {
  ALL_CORE_FEATURES,
  catchGuestFault,
  echoDescriptor,
  enableTestHypercalls,
  FAIL_VALUE,
  fastCall,
  fastOutputOf,
  INPUT_GPA,
  makeHypercallPartition,
  makePartition,
  memoryCall,
  OUTPUT_GPA,
  RAM_BYTES,
  readU64s,
  registerTestHypercalls,
  TestCall,
  titled,
  writeU64s,
} from './fixtures.ts';

const SENTINEL = 0xa5a5_a5a5_a5a5_a5a5n;
const ECHO_INPUT = [0x1111n, 0x2222n];
/** ~0x1111 and ~0x2222 in 64 bits. */
const ECHO_OUTPUT = [0xffff_ffff_ffff_eeeen, 0xffff_ffff_ffff_ddddn];
const { Echo, RepDouble, RegisterOnly, MemoryOnly, Gated, XmmInputOnly } = TestCall;

/** A partition with hypercalls on, Echo input at INPUT_GPA and an output page full of 0xA5. */
function setup(options: Parameters<typeof makeHypercallPartition>[0] = {}) {
  const { partition, log } = makeHypercallPartition(options);
  writeU64s(partition, INPUT_GPA, ECHO_INPUT);
  partition.memory.fill(OUTPUT_GPA, 4096, 0xa5);
  const call = (regs: X64HypercallRegisters, vp = 0) => {
    const raw = partition.hypercall(vp, regs);
    return { raw, ...decodeHypercallResult(raw) };
  };
  const outputUntouched = () => readU64s(partition, OUTPUT_GPA, 512).every((v) => v === SENTINEL);
  return { partition, log, call, outputUntouched };
}

describe('HypercallDispatcher — control value (spec 01 rules 1–3)', () => {
  const reserved = [27n, 30n, 44n, 47n, 60n, 63n].map((bit) => ({
    rule: `rule 1 "nonzero reserved control bits → INVALID_HYPERCALL_INPUT": bit ${bit}`,
    value: control({ callCode: Echo }) | (1n << bit),
    status: HvStatus.INVALID_HYPERCALL_INPUT,
  }));
  it.each(
    titled(
      [
        ...reserved,
        {
          rule: 'rule 1 (KVM): Nested, bit 31, counts as reserved — pvlab models no L0',
          value: control({ callCode: Echo, nested: true }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'rule 1 "Unknown call code → INVALID_HYPERCALL_CODE"',
          value: control({ callCode: 0x7fff }),
          status: HvStatus.INVALID_HYPERCALL_CODE,
        },
        {
          rule: 'rule 1: a TLFS call no installed package handles (HvCallFlushVirtualAddressSpace) is unknown',
          value: control({ callCode: HvCallCode.HvCallFlushVirtualAddressSpace }),
          status: HvStatus.INVALID_HYPERCALL_CODE,
        },
        {
          rule: 'rule 1: reserved bits are checked before the call code (KVM order)',
          value: control({ callCode: 0x7fff }) | (1n << 63n),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'rule 2 "Simple call with RepCount≠0 or RepStartIndex≠0 → INVALID_HYPERCALL_INPUT": RepCount 1',
          value: control({ callCode: Echo, repCount: 1 }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'rule 2 "Simple call with RepCount≠0 or RepStartIndex≠0 → INVALID_HYPERCALL_INPUT": RepStartIndex 1',
          value: control({ callCode: Echo, repStartIndex: 1 }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'rule 2 "rep call with RepCount=0 or RepStartIndex ≥ RepCount → INVALID_HYPERCALL_INPUT": RepCount 0',
          value: control({ callCode: RepDouble, repCount: 0 }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'rule 2 "rep call with RepCount=0 or RepStartIndex ≥ RepCount → INVALID_HYPERCALL_INPUT": RepStartIndex = RepCount',
          value: control({ callCode: RepDouble, repCount: 2, repStartIndex: 2 }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'rule 2 "rep call with RepCount=0 or RepStartIndex ≥ RepCount → INVALID_HYPERCALL_INPUT": RepStartIndex > RepCount',
          value: control({ callCode: RepDouble, repCount: 2, repStartIndex: 3 }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'rule 3 "VariableHeaderSize≠0 on a call that has no variable header → INVALID_HYPERCALL_INPUT"',
          value: control({ callCode: Echo, variableHeaderSize: 1 }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
        {
          rule: 'rule 3: the largest VariableHeaderSize on a call without one',
          value: control({ callCode: MemoryOnly, variableHeaderSize: 0x3ff }),
          status: HvStatus.INVALID_HYPERCALL_INPUT,
        },
      ],
      (c) => c.rule,
    ),
  )('%s', (_title, { value, status }) => {
    const { call, log, outputUntouched } = setup();
    const r = call(memoryCall(value, INPUT_GPA, OUTPUT_GPA));
    expect(r).toEqual({ raw: BigInt(status), status, repsCompleted: 0 });
    expect(log.echo).toEqual([]);
    expect(log.rep).toEqual([]);
    expect(outputUntouched()).toBe(true);
  });

  it('a well-formed control reaches the handler (the positive twin of the table)', () => {
    const { call, log } = setup();
    expect(call(memoryCall(control({ callCode: Echo }), INPUT_GPA, OUTPUT_GPA)).status).toBe(
      HvStatus.SUCCESS,
    );
    expect(log.echo).toHaveLength(1);
  });
});

describe('HypercallDispatcher — privilege gate (rule 13 "missing privilege/recommendation bit → ACCESS_DENIED")', () => {
  it.each(
    titled(
      [
        { exposed: 'not exposed', features: ALL_CORE_FEATURES, status: HvStatus.ACCESS_DENIED },
        {
          exposed: 'exposed',
          features: [...ALL_CORE_FEATURES, 'AccessPartitionId' as const],
          status: HvStatus.SUCCESS,
        },
      ],
      (c) => `a call gated by AccessPartitionId, ${c.exposed}`,
    ),
  )('%s', (_title, { features, status }) => {
    const { call } = setup({ features });
    expect(call(memoryCall(control({ callCode: Gated }), 0n, 0n))).toEqual({
      raw: BigInt(status),
      status,
      repsCompleted: 0,
    });
  });
});

describe('HypercallDispatcher — parameter lists in memory (spec 01 rules 4, 5, 7)', () => {
  const echo = control({ callCode: Echo });
  it.each(
    titled(
      [
        {
          rule: 'rule 4 "Input and output GPAs must be 8-byte aligned": input GPA + 4',
          rdx: INPUT_GPA + 4n,
          r8: OUTPUT_GPA,
        },
        { rule: 'rule 4: input GPA + 1', rdx: INPUT_GPA + 1n, r8: OUTPUT_GPA },
        {
          rule: 'rule 4 "Input and output GPAs must be 8-byte aligned": output GPA + 4',
          rdx: INPUT_GPA,
          r8: OUTPUT_GPA + 4n,
        },
        {
          rule: 'rule 5 "Each parameter list must fit in one 4 KiB page": input straddles',
          rdx: 0x2ff8n,
          r8: OUTPUT_GPA,
        },
        { rule: 'rule 5: output list straddles a page', rdx: INPUT_GPA, r8: 0x3ff8n },
        { rule: 'rule 5 "GPA beyond partition GPA space" (2^48): input', rdx: 1n << 48n, r8: OUTPUT_GPA },
        { rule: 'rule 5 "GPA beyond partition GPA space" (2^48): output', rdx: INPUT_GPA, r8: 1n << 48n },
        {
          rule: 'rule 5: a list ending past 2^48 (last page of the 64-bit space)',
          rdx: 0xffff_ffff_ffff_f000n,
          r8: OUTPUT_GPA,
        },
      ],
      (c) => `${c.rule} → INVALID_ALIGNMENT`,
    ),
  )('%s', (_title, { rdx, r8 }) => {
    const { call, log, outputUntouched } = setup();
    expect(call(memoryCall(echo, rdx, r8))).toEqual({
      raw: BigInt(HvStatus.INVALID_ALIGNMENT),
      status: HvStatus.INVALID_ALIGNMENT,
      repsCompleted: 0,
    });
    expect(log.echo).toEqual([]);
    expect(outputUntouched()).toBe(true);
  });

  it('rule 5: a rep list of 8 + 512 × 8 bytes is longer than a page → INVALID_ALIGNMENT; 511 reps fit', () => {
    const { call, log } = setup();
    const too = call(memoryCall(control({ callCode: RepDouble, repCount: 512 }), INPUT_GPA, OUTPUT_GPA));
    expect(too.status).toBe(HvStatus.INVALID_ALIGNMENT);
    const fits = call(memoryCall(control({ callCode: RepDouble, repCount: 511 }), INPUT_GPA, OUTPUT_GPA));
    expect(fits).toMatchObject({ status: HvStatus.SUCCESS, repsCompleted: 511 });
    expect(log.rep).toHaveLength(1);
  });

  it('rule 5: a 16-byte list ending exactly at the page end is fine', () => {
    const { partition, call } = setup();
    writeU64s(partition, 0x2ff0n, ECHO_INPUT);
    expect(call(memoryCall(echo, 0x2ff0n, 0x3ff0n)).status).toBe(HvStatus.SUCCESS);
    expect(readU64s(partition, 0x3ff0n, 2)).toEqual(ECHO_OUTPUT);
  });

  it.each(
    titled(
      [
        { list: 'input', rdx: BigInt(RAM_BYTES), r8: OUTPUT_GPA, gpa: BigInt(RAM_BYTES) },
        { list: 'output', rdx: INPUT_GPA, r8: (1n << 48n) - 0x1000n, gpa: (1n << 48n) - 0x1000n },
      ],
      (c) =>
        `rule 7 "Unmapped/unreadable input GPA or unwritable output GPA produces a memory intercept": ${c.list} in GPA space beyond RAM`,
    ),
  )('%s', (_title, { rdx, r8, gpa }) => {
    const { call, log } = setup();
    const fault = catchGuestFault(() => call(memoryCall(echo, rdx, r8)), 'MEMORY');
    expect(fault.gpa).toBe(gpa);
    expect(log.echo).toEqual([]);
  });

  it.each(
    titled(
      [
        { where: 'misaligned', rdx: 3n, r8: 5n },
        { where: 'beyond the GPA space', rdx: 0xffff_ffff_ffff_ffffn, r8: 1n << 60n },
      ],
      (c) => `rule 4 (openvmm) "only checked when length>0": ${c.where} GPAs of empty lists are ignored`,
    ),
  )('%s', (_title, { rdx, r8 }) => {
    const { call } = setup({ features: [...ALL_CORE_FEATURES, 'AccessPartitionId'] });
    expect(call(memoryCall(control({ callCode: Gated }), rdx, r8)).status).toBe(HvStatus.SUCCESS);
  });
});

describe('HypercallDispatcher — simple calls (rule 9 "simple-call output only on success")', () => {
  it('SUCCESS: the handler sees the input; the whole output is written, nothing past it', () => {
    const { partition, call, log } = setup();
    const r = call(memoryCall(control({ callCode: Echo }), INPUT_GPA, OUTPUT_GPA), 1);
    expect(r).toEqual({ raw: 0n, status: HvStatus.SUCCESS, repsCompleted: 0 });
    expect(readU64s(partition, OUTPUT_GPA, 3)).toEqual([...ECHO_OUTPUT, SENTINEL]);
    expect(log.echo).toEqual([
      {
        vp: 1,
        input: Uint8Array.of(0x11, 0x11, 0, 0, 0, 0, 0, 0, 0x22, 0x22, 0, 0, 0, 0, 0, 0),
        variableHeaderBytes: 0,
      },
    ]);
  });

  it('an error status: the output the handler wrote is not copied to the guest', () => {
    const { partition, call, log, outputUntouched } = setup();
    writeU64s(partition, INPUT_GPA, [FAIL_VALUE, 1n]);
    const r = call(memoryCall(control({ callCode: Echo }), INPUT_GPA, OUTPUT_GPA));
    expect(r).toEqual({ raw: 5n, status: HvStatus.INVALID_PARAMETER, repsCompleted: 0 });
    expect(log.echo).toHaveLength(1);
    expect(outputUntouched()).toBe(true);
  });

  it('the input list is not modified', () => {
    const { partition, call } = setup();
    call(memoryCall(control({ callCode: Echo }), INPUT_GPA, OUTPUT_GPA));
    expect(readU64s(partition, INPUT_GPA, 2)).toEqual(ECHO_INPUT);
  });
});

/** RepDouble input: fixed header `base`, one variable-header QWORD, then the elements. */
function writeRepInput(partition: ReturnType<typeof setup>['partition'], elements: readonly bigint[]) {
  writeU64s(partition, INPUT_GPA, [0x100n, 0x77n, ...elements]);
}
const repControl = (repCount: number, repStartIndex = 0) =>
  control({ callCode: RepDouble, variableHeaderSize: 1, repCount, repStartIndex });

describe('HypercallDispatcher — rep calls (spec 01 rules 3, 8, 9)', () => {
  it('rule 3 "Input length = fixed header + 8·VariableHeaderSize + RepCount·element size"', () => {
    const { partition, call, log } = setup();
    writeRepInput(partition, [1n, 2n, 3n, 4n]);
    const r = call(memoryCall(repControl(4), INPUT_GPA, OUTPUT_GPA));
    expect(r).toEqual({ raw: 0x4_0000_0000n, status: HvStatus.SUCCESS, repsCompleted: 4 });
    // element i → 2·e + base (0x100), at 8·i in the output list.
    expect(readU64s(partition, OUTPUT_GPA, 5)).toEqual([0x102n, 0x104n, 0x106n, 0x108n, SENTINEL]);
    expect(log.rep).toHaveLength(1);
    expect(log.rep[0]).toMatchObject({ variableHeaderBytes: 8, repStart: 0, repEnd: 4 });
    expect(log.rep[0]?.input.length).toBe(8 + 8 + 4 * 8);
  });

  it('RepStartIndex 2: only elements 2.. are processed and written; RepsCompleted is absolute', () => {
    const { partition, call, log } = setup();
    writeRepInput(partition, [1n, 2n, 3n, 4n]);
    const r = call(memoryCall(repControl(4, 2), INPUT_GPA, OUTPUT_GPA));
    expect(r).toMatchObject({ status: HvStatus.SUCCESS, repsCompleted: 4 });
    expect(readU64s(partition, OUTPUT_GPA, 4)).toEqual([SENTINEL, SENTINEL, 0x106n, 0x108n]);
    expect(log.rep[0]).toMatchObject({ repStart: 2, repEnd: 4 });
  });

  it('rule 8 continuation: maxRepsPerCall 3 → SUCCESS with RepsCompleted < RepCount, reissue from RepsCompleted', () => {
    const { partition, call, log } = setup({ maxRepsPerCall: 3 });
    writeRepInput(partition, [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    const first = call(memoryCall(repControl(8), INPUT_GPA, OUTPUT_GPA));
    expect(first).toEqual({ raw: 0x3_0000_0000n, status: HvStatus.SUCCESS, repsCompleted: 3 });
    expect(readU64s(partition, OUTPUT_GPA, 8)).toEqual([0x102n, 0x104n, 0x106n, ...Array(5).fill(SENTINEL)]);

    expect(call(memoryCall(repControl(8, 3), INPUT_GPA, OUTPUT_GPA))).toMatchObject({ repsCompleted: 6 });
    expect(call(memoryCall(repControl(8, 6), INPUT_GPA, OUTPUT_GPA))).toMatchObject({
      status: HvStatus.SUCCESS,
      repsCompleted: 8,
    });
    expect(log.rep.map((c) => [c.repStart, c.repEnd])).toEqual([
      [0, 3],
      [3, 6],
      [6, 8],
    ]);
    expect(readU64s(partition, OUTPUT_GPA, 9)).toEqual([
      0x102n,
      0x104n,
      0x106n,
      0x108n,
      0x10an,
      0x10cn,
      0x10en,
      0x110n,
      SENTINEL,
    ]);
  });

  it('rule 8 "At least one element is attempted per invocation": maxRepsPerCall 1', () => {
    const { partition, call } = setup({ maxRepsPerCall: 1 });
    writeRepInput(partition, [1n, 2n]);
    expect(call(memoryCall(repControl(2), INPUT_GPA, OUTPUT_GPA)).repsCompleted).toBe(1);
    expect(call(memoryCall(repControl(2, 1), INPUT_GPA, OUTPUT_GPA)).repsCompleted).toBe(2);
  });

  it.each(
    titled(
      [
        { start: 0, reps: 2, raw: 0x2_0000_0005n, out: [0x102n, 0x104n, SENTINEL, SENTINEL] },
        { start: 1, reps: 2, raw: 0x2_0000_0005n, out: [SENTINEL, 0x104n, SENTINEL, SENTINEL] },
        { start: 2, reps: 2, raw: 0x2_0000_0005n, out: [SENTINEL, SENTINEL, SENTINEL, SENTINEL] },
      ],
      (c) =>
        `rule 9 "On an element error: status = error, RepsCompleted = elements done before it": element 2 fails, RepStartIndex ${c.start}`,
    ),
  )('%s', (_title, { start, reps, raw, out }) => {
    const { partition, call } = setup();
    writeRepInput(partition, [1n, 2n, FAIL_VALUE, 4n]);
    const r = call(memoryCall(repControl(4, start), INPUT_GPA, OUTPUT_GPA));
    expect(r).toEqual({ raw, status: HvStatus.INVALID_PARAMETER, repsCompleted: reps });
    expect(readU64s(partition, OUTPUT_GPA, 4)).toEqual(out);
  });
});

describe('HypercallDispatcher — handler contract (HostInvariantError)', () => {
  const misbehaving: {
    handler: string;
    start: number;
    outcome: (repStart: number, repEnd: number) => RepOutcome;
  }[] = [
    {
      handler: 'SUCCESS without completing a rep',
      start: 0,
      outcome: (s) => ({ status: 0, repsCompleted: s }),
    },
    {
      handler: 'RepsCompleted past the slice end',
      start: 0,
      outcome: (_s, e) => ({ status: 0, repsCompleted: e + 1 }),
    },
    {
      handler: 'RepsCompleted below RepStartIndex',
      start: 1,
      outcome: (s) => ({ status: 5, repsCompleted: s - 1 }),
    },
    { handler: 'a fractional RepsCompleted', start: 0, outcome: () => ({ status: 0, repsCompleted: 1.5 }) },
  ];
  it.each(titled(misbehaving, (c) => `a rep handler returning ${c.handler} is a host bug`))(
    '%s',
    (_title, { start, outcome }) => {
      const { partition, outputUntouched } = setup();
      partition.dispatcher.register({
        kind: 'rep',
        code: 0x7010,
        name: 'TestMisbehaving',
        fixedInputBytes: 0,
        inputElementBytes: 8,
        outputElementBytes: 8,
        handler: (c) => outcome(c.repStart, c.repEnd),
      });
      const regs = memoryCall(
        control({ callCode: 0x7010, repCount: 4, repStartIndex: start }),
        INPUT_GPA,
        OUTPUT_GPA,
      );
      expect(() => partition.hypercall(0, regs)).toThrow(HostInvariantError);
      expect(outputUntouched()).toBe(true);
    },
  );

  it('registering a second descriptor for a call code is a host bug', () => {
    const { partition } = setup();
    expect(() => partition.dispatcher.register(echoDescriptor())).toThrow(/already registered as TestEcho/);
  });

  it.each(
    titled(
      [
        { problem: 'code is not a 16-bit value', patch: { code: 0x1_0000 } },
        { problem: 'fixedInputBytes is not a multiple of 8', patch: { fixedInputBytes: 12 } },
        { problem: 'fixedInputBytes is not a multiple of 8 within a page', patch: { fixedInputBytes: 4104 } },
        { problem: 'outputBytes is not a multiple of 8', patch: { outputBytes: 12 } },
      ],
      (c) => `a simple descriptor whose ${c.problem} is refused`,
    ),
  )('%s', (_title, { problem, patch }) => {
    const partition = makePartition();
    const bad = { ...echoDescriptor(), code: 0x7020, ...patch };
    expect(() => partition.dispatcher.register(bad)).toThrow(HostInvariantError);
    expect(() => partition.dispatcher.register(bad)).toThrow(problem);
  });

  it('a rep descriptor with 4-byte output elements is refused (outputs fill whole 8-byte slots)', () => {
    const partition = makePartition();
    const bad = { ...makeRep(), outputElementBytes: 4 };
    expect(() => partition.dispatcher.register(bad)).toThrow(/outputElementBytes is not a multiple of 8/);
  });

  it('descriptors() lists the registered calls by code; descriptor() finds one', () => {
    const partition = makePartition();
    registerTestHypercalls(partition);
    expect(partition.dispatcher.descriptors().map((d) => d.code)).toEqual([
      HvCallCode.HvCallNotifyLongSpinWait,
      Echo,
      RepDouble,
      RegisterOnly,
      MemoryOnly,
      Gated,
      XmmInputOnly,
    ]);
    expect(partition.dispatcher.descriptor(Echo)?.name).toBe('TestEcho');
    expect(partition.dispatcher.descriptor(0x7fff)).toBeUndefined();
  });
});

function makeRep() {
  return {
    kind: 'rep' as const,
    code: 0x7021,
    name: 'TestRep',
    fixedInputBytes: 0,
    inputElementBytes: 8,
    outputElementBytes: 8,
    handler: (): RepOutcome => ({ status: 0, repsCompleted: 1 }),
  };
}

describe('HypercallDispatcher — overlapping lists (spec 01 rule 6)', () => {
  it('"Input and output lists must not overlap": a diagnostic, but the call runs on the copied input', () => {
    const { partition, call, log } = setup();
    const r = call(memoryCall(control({ callCode: Echo }), INPUT_GPA, INPUT_GPA + 8n), 1);
    expect(r.status).toBe(HvStatus.SUCCESS);
    expect(log.echo[0]?.input).toEqual(
      Uint8Array.of(0x11, 0x11, 0, 0, 0, 0, 0, 0, 0x22, 0x22, 0, 0, 0, 0, 0, 0),
    );
    expect(readU64s(partition, INPUT_GPA, 3)).toEqual([0x1111n, ...ECHO_OUTPUT]);
    expect(partition.diagnostics()).toEqual([
      {
        rule: 'spec01.rule6.overlap',
        vp: 1,
        message: 'input list [0x2000, +16) overlaps output list [0x2008, +16)',
      },
    ]);
  });

  it.each(
    titled(
      [
        { case: 'the same GPA', r8: INPUT_GPA, overlap: true },
        { case: 'the output ending where the input starts', r8: INPUT_GPA - 16n, overlap: false },
        { case: 'the output starting where the input ends', r8: INPUT_GPA + 16n, overlap: false },
      ],
      (c) => c.case,
    ),
  )('%s', (_title, { r8, overlap }) => {
    const { partition, call } = setup();
    expect(call(memoryCall(control({ callCode: Echo }), INPUT_GPA, r8)).status).toBe(HvStatus.SUCCESS);
    expect(partition.diagnostics().map((d) => d.rule)).toEqual(overlap ? ['spec01.rule6.overlap'] : []);
  });
});

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

describe('HvPartition.hypercall — #UD before HV_X64_MSR_HYPERCALL is enabled', () => {
  it('VMCALL before the hypercall page is enabled is #UD; after Enable it is dispatched', () => {
    const partition = makePartition();
    const log = registerTestHypercalls(partition);
    writeU64s(partition, INPUT_GPA, ECHO_INPUT);
    const regs = memoryCall(control({ callCode: Echo }), INPUT_GPA, OUTPUT_GPA);
    expect(catchGuestFault(() => partition.hypercall(0, regs), 'UD').message).toMatch(
      /before HV_X64_MSR_HYPERCALL/,
    );
    expect(log.echo).toEqual([]);
    enableTestHypercalls(partition);
    expect(decodeHypercallResult(partition.hypercall(0, regs)).status).toBe(HvStatus.SUCCESS);
  });

  it('a VP index outside the partition is a host error (RangeError), not a guest fault', () => {
    const { partition } = setup();
    expect(() => partition.hypercall(2, new X64HypercallRegisters())).toThrow(RangeError);
  });
});

describe('HypercallDispatcher.observe — every call, with its outcome', () => {
  it('sees accepted, rejected and unknown calls; observe(undefined) stops it', () => {
    const { partition, call } = setup();
    const records: HypercallRecord[] = [];
    partition.dispatcher.observe((r) => records.push(r));
    writeU64s(partition, INPUT_GPA, [0x100n, 0x77n, 1n, 2n]);
    const rep = repControl(2, 1);
    call(memoryCall(rep, INPUT_GPA, OUTPUT_GPA), 1);
    call(memoryCall(control({ callCode: 0x7fff }), 0n, 0n));
    call(fastCall(control({ callCode: HvCallCode.HvCallNotifyLongSpinWait, fast: true }), [0n]));
    expect(records).toEqual([
      {
        vp: 1,
        control: rep,
        callCode: RepDouble,
        name: expect.any(String),
        fast: false,
        variableHeaderSize: 1,
        repCount: 2,
        repStartIndex: 1,
        status: HvStatus.SUCCESS,
        repsCompleted: 2,
      },
      {
        vp: 0,
        control: 0x7fffn,
        callCode: 0x7fff,
        name: 'unknown call 0x7fff',
        fast: false,
        variableHeaderSize: 0,
        repCount: 0,
        repStartIndex: 0,
        status: HvStatus.INVALID_HYPERCALL_CODE,
        repsCompleted: 0,
      },
      {
        vp: 0,
        control: BigInt(HvCallCode.HvCallNotifyLongSpinWait) | (1n << 16n),
        callCode: HvCallCode.HvCallNotifyLongSpinWait,
        name: 'HvCallNotifyLongSpinWait',
        fast: true,
        variableHeaderSize: 0,
        repCount: 0,
        repStartIndex: 0,
        status: HvStatus.SUCCESS,
        repsCompleted: 0,
      },
    ]);
    partition.dispatcher.observe(undefined);
    call(memoryCall(control({ callCode: 0x7fff }), 0n, 0n));
    expect(records).toHaveLength(3);
  });
});
