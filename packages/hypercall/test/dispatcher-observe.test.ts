import { describe, expect, it } from 'vitest';
import type { HypercallRecord } from '../src/host/call-record.ts';
import { X64HypercallRegisters } from '../src/host/calling-convention.ts';
import { HvCallCode } from '../src/wire/call-code.ts';
import { encodeHypercallControl as control } from '../src/wire/control.ts';
import { decodeHypercallResult } from '../src/wire/result.ts';
import { HvStatus } from '../src/wire/status.ts';
import { ECHO_INPUT, repControl, setup } from './dispatcher-fixtures.ts';
import {
  catchGuestFault,
  enableTestHypercalls,
  fastCall,
  INPUT_GPA,
  makePartition,
  memoryCall,
  OUTPUT_GPA,
  registerTestHypercalls,
  TestCall,
  writeU64s,
} from './fixtures.ts';

const { Echo, RepDouble } = TestCall;

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
