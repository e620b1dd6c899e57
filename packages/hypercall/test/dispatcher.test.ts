import { describe, expect, it } from 'vitest';
import type { RepOutcome } from '../src/host/descriptor.ts';
import { HostInvariantError } from '../src/host/dispatcher.ts';
import { HvCallCode } from '../src/wire/call-code.ts';
import { encodeHypercallControl as control } from '../src/wire/control.ts';
import { HvStatus } from '../src/wire/status.ts';
import { ECHO_INPUT, ECHO_OUTPUT, repControl, SENTINEL, setup } from './dispatcher-fixtures.ts';
import {
  ALL_CORE_FEATURES,
  catchGuestFault,
  echoDescriptor,
  FAIL_VALUE,
  INPUT_GPA,
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

const { Echo, RepDouble, RegisterOnly, MemoryOnly, Gated, XmmInputOnly } = TestCall;

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
