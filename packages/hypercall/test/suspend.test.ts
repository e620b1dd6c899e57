import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { isGuestFault } from '../src/guest-fault.ts';
import type { HypercallRecord } from '../src/host/call-record.ts';
import type { RepHypercallDescriptor, SimpleHypercallDescriptor } from '../src/host/descriptor.ts';
import type { HvPartition } from '../src/host/partition.ts';
import { HypercallSuspended, isHypercallSuspended } from '../src/host/suspend.ts';
import { encodeHypercallControl } from '../src/wire/control.ts';
import { decodeHypercallResult } from '../src/wire/result.ts';
import { HvStatus } from '../src/wire/status.ts';
import {
  catchGuestFault,
  enableTestHypercalls,
  INPUT_GPA,
  makePartition,
  memoryCall,
  OUTPUT_GPA,
  readU64s,
  writeU64s,
} from './fixtures.ts';

/** Test call codes (not TLFS codes). */
const WAIT = 0x7101;
const WAIT_REP = 0x7102;
const BARE = 0x7103;

/**
 * A partition with a "wait for VP" call: input u64 = the VP to wait on while `locked` has it,
 * output u64 = 0x600D once it completes. WAIT_REP does the same per 8-byte element.
 */
function waitPartition(vcpus = 4): { partition: HvPartition; locked: Set<number>; completed: number[] } {
  const partition = makePartition({ vcpus });
  enableTestHypercalls(partition);
  const locked = new Set<number>();
  const completed: number[] = [];
  const wait: SimpleHypercallDescriptor = {
    kind: 'simple',
    code: WAIT,
    name: 'TestWait',
    fixedInputBytes: 8,
    outputBytes: 8,
    handler(call) {
      const target = Number(call.input.getBigUint64(0, true));
      if (locked.has(target)) call.suspend(target, `VP ${target} is locked`);
      call.output.setBigUint64(0, 0x600dn, true);
      completed.push(call.vp);
      return HvStatus.SUCCESS;
    },
  };
  const waitRep: RepHypercallDescriptor = {
    kind: 'rep',
    code: WAIT_REP,
    name: 'TestWaitRep',
    fixedInputBytes: 0,
    inputElementBytes: 8,
    outputElementBytes: 8,
    handler(call) {
      for (let i = call.repStart; i < call.repEnd; i++) {
        const target = Number(call.input.getBigUint64(call.inputElementOffset(i), true));
        if (locked.has(target)) call.suspend(target, `element ${i}`);
        call.output.setBigUint64(call.outputElementOffset(i), 0x600dn, true);
      }
      return { status: HvStatus.SUCCESS, repsCompleted: call.repEnd };
    },
  };
  const bare: SimpleHypercallDescriptor = {
    kind: 'simple',
    code: BARE,
    name: 'TestBare',
    fixedInputBytes: 0,
    outputBytes: 0,
    exactControl: true,
    handler: () => HvStatus.SUCCESS,
  };
  for (const d of [wait, waitRep, bare]) partition.dispatcher.register(d);
  return { partition, locked, completed };
}

function callWait(partition: HvPartition, vp: number, target: number): bigint {
  writeU64s(partition, INPUT_GPA + BigInt(0x100 * vp), [BigInt(target)]);
  return partition.hypercall(
    vp,
    memoryCall(
      encodeHypercallControl({ callCode: WAIT }),
      INPUT_GPA + BigInt(0x100 * vp),
      OUTPUT_GPA + BigInt(0x100 * vp),
    ),
  );
}

function catchSuspended(fn: () => unknown): HypercallSuspended {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HypercallSuspended);
    return e as HypercallSuspended;
  }
  throw new Error('expected HypercallSuspended, but the call completed');
}

describe('call.suspend (spec 03 rule 9: the caller is suspended without advancing RIP)', () => {
  it('throws HypercallSuspended with vp, waitingOn and reason, and records it on the VP', () => {
    const { partition, locked } = waitPartition();
    locked.add(3);
    const e = catchSuspended(() => callWait(partition, 1, 3));
    expect([e.vp, e.waitingOn, e.reason]).toEqual([1, 3, 'VP 3 is locked']);
    expect(isHypercallSuspended(e)).toBe(true);
    expect(isGuestFault(e)).toBe(false);
    expect(partition.vp(1).suspendedOn).toBe(3);
    expect(partition.vp(1).suspension).toEqual({ waitingOn: 3, reason: 'VP 3 is locked' });
    expect(partition.suspendedVps()).toEqual([{ vp: 1, waitingOn: 3, reason: 'VP 3 is locked' }]);
    // Every other VP runs on.
    expect(partition.vp(0).suspendedOn).toBeNull();
  });

  it('writes no output and no result', () => {
    const { partition, locked } = waitPartition();
    writeU64s(partition, OUTPUT_GPA + 0x100n, [0x1111n]);
    locked.add(2);
    catchSuspended(() => callWait(partition, 1, 2));
    expect(readU64s(partition, OUTPUT_GPA + 0x100n, 1)).toEqual([0x1111n]);
  });

  it('a rep call that suspends mid-list writes none of its elements', () => {
    const { partition, locked } = waitPartition();
    writeU64s(partition, INPUT_GPA, [0n, 0n, 2n, 0n]);
    writeU64s(partition, OUTPUT_GPA, [7n, 7n, 7n, 7n]);
    locked.add(2);
    const regs = memoryCall(
      encodeHypercallControl({ callCode: WAIT_REP, repCount: 4 }),
      INPUT_GPA,
      OUTPUT_GPA,
    );
    const e = catchSuspended(() => partition.hypercall(0, regs));
    expect(e.reason).toBe('element 2');
    expect(readU64s(partition, OUTPUT_GPA, 4)).toEqual([7n, 7n, 7n, 7n]);
    locked.delete(2);
    expect(partition.resumeWaiters(2)).toEqual([0]);
    const r = decodeHypercallResult(partition.hypercall(0, regs));
    expect([r.status, r.repsCompleted]).toEqual([HvStatus.SUCCESS, 4]);
    expect(readU64s(partition, OUTPUT_GPA, 4)).toEqual([0x600dn, 0x600dn, 0x600dn, 0x600dn]);
  });

  it('the observer sees the suspended call with suspendedOn, and the re-executed call without it', () => {
    const { partition, locked } = waitPartition();
    const records: HypercallRecord[] = [];
    partition.dispatcher.observe((r) => records.push(r));
    locked.add(2);
    catchSuspended(() => callWait(partition, 0, 2));
    locked.delete(2);
    partition.resumeWaiters(2);
    callWait(partition, 0, 2);
    expect(records.map((r) => [r.name, r.suspendedOn])).toEqual([
      ['TestWait', 2],
      ['TestWait', undefined],
    ]);
  });

  it('a hypercall from a suspended VP is a one-line host usage error naming how to resume it', () => {
    const { partition, locked } = waitPartition();
    locked.add(2);
    catchSuspended(() => callWait(partition, 1, 2));
    expect(() => callWait(partition, 1, 0)).toThrow(
      /^VP 1 is suspended waiting on VP 2 \(VP 2 is locked\): resume it with resumeWaiters\(2\) before its next hypercall$/,
    );
  });

  it('a handler that suspends on a non-VP index is a host bug, not a suspension', () => {
    const partition = makePartition();
    enableTestHypercalls(partition);
    partition.dispatcher.register({
      kind: 'simple',
      code: WAIT,
      name: 'BadWait',
      fixedInputBytes: 0,
      outputBytes: 0,
      handler: (call) => call.suspend(-1, 'nothing'),
    });
    expect(() =>
      partition.hypercall(0, memoryCall(encodeHypercallControl({ callCode: WAIT }), 0n, 0n)),
    ).toThrow(/BadWait suspended VP 0 on VP -1, which is no VP index/);
    expect(partition.vp(0).suspendedOn).toBeNull();
  });
});

describe('partition.resumeWaiters / onResume (spec 03 rule 10: unsuspend every VP waiting on the target)', () => {
  it('releases exactly the VPs waiting on the target, ascending, and tells the listeners once each', () => {
    const { partition, locked, completed } = waitPartition(5);
    const resumed: number[] = [];
    partition.onResume((vp) => resumed.push(vp));
    locked.add(2).add(4);
    catchSuspended(() => callWait(partition, 3, 2));
    catchSuspended(() => callWait(partition, 0, 2));
    catchSuspended(() => callWait(partition, 1, 4));
    expect(partition.resumeWaiters(2)).toEqual([0, 3]);
    expect(resumed).toEqual([0, 3]);
    // VP 1 waits on VP 4: still suspended.
    expect(partition.vp(1).suspendedOn).toBe(4);
    // A second release finds nobody: no wake-up is delivered twice.
    expect(partition.resumeWaiters(2)).toEqual([]);
    expect(resumed).toEqual([0, 3]);
    // The direct harness re-issues the same hypercall; now it completes.
    locked.delete(2);
    expect(decodeHypercallResult(callWait(partition, 3, 2)).status).toBe(HvStatus.SUCCESS);
    expect(decodeHypercallResult(callWait(partition, 0, 2)).status).toBe(HvStatus.SUCCESS);
    expect(completed).toEqual([3, 0]);
    expect(readU64s(partition, OUTPUT_GPA + 0x300n, 1)).toEqual([0x600dn]);
  });

  it('a VP resumed while the lock is still held suspends again on re-execution (no lost lock)', () => {
    const { partition, locked } = waitPartition();
    locked.add(2);
    catchSuspended(() => callWait(partition, 0, 2));
    expect(partition.resumeWaiters(2)).toEqual([0]);
    const e = catchSuspended(() => callWait(partition, 0, 2));
    expect(e.waitingOn).toBe(2);
  });

  it('an unknown target is a RangeError naming the valid range', () => {
    const { partition } = waitPartition(4);
    expect(() => partition.resumeWaiters(9)).toThrow(/VP index 9 is not in this partition: use 0\.\.3/);
  });

  fcTest.prop([
    fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })), { maxLength: 40 }),
  ])('every suspended VP is resumed exactly once, whatever the order of calls and releases', (ops) => {
    const { partition, locked } = waitPartition(6);
    for (let t = 0; t < 6; t++) locked.add(t);
    const resumed: number[] = [];
    partition.onResume((vp) => resumed.push(vp));
    let suspensions = 0;
    for (const [a, b] of ops) {
      if (a === b || partition.vp(a).suspendedOn !== null) {
        partition.resumeWaiters(b);
        continue;
      }
      catchSuspended(() => callWait(partition, a, b));
      suspensions++;
    }
    for (let t = 0; t < 6; t++) partition.resumeWaiters(t);
    expect(resumed.length).toBe(suspensions);
    expect(partition.suspendedVps()).toEqual([]);
  });
});

describe('descriptor.exactControl (spec 03 rule 3: any control bit besides the call code is #UD)', () => {
  const cases: [string, bigint][] = [
    ['Fast bit', encodeHypercallControl({ callCode: BARE, fast: true })],
    ['RepCount', encodeHypercallControl({ callCode: BARE, repCount: 1 })],
    ['VariableHeaderSize', encodeHypercallControl({ callCode: BARE, variableHeaderSize: 1 })],
    ['a reserved bit (63)', BigInt(BARE) | (1n << 63n)],
    ['Nested (bit 31)', BigInt(BARE) | (1n << 31n)],
  ];
  it.each(cases)('%s → #UD, not a status', (_name, control) => {
    const { partition } = waitPartition();
    catchGuestFault(() => partition.hypercall(0, memoryCall(control, 0n, 0n)), 'UD');
  });

  it('the bare call code → the handler runs', () => {
    const { partition } = waitPartition();
    expect(partition.hypercall(0, memoryCall(BigInt(BARE), 0n, 0n))).toBe(0n);
  });

  it('calls without exactControl keep their statuses for the same bits', () => {
    const { partition } = waitPartition();
    const r = partition.hypercall(0, memoryCall(BigInt(WAIT) | (1n << 63n), INPUT_GPA, OUTPUT_GPA));
    expect(decodeHypercallResult(r).status).toBe(HvStatus.INVALID_HYPERCALL_INPUT);
  });
});
