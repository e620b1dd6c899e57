/**
 * A partition whose calls end every way a call can: the test calls of `fixtures.ts`, a call that
 * suspends its caller on a locked VP, one whose handler injects #GP, and one that refuses with a
 * reason and a diagnostic. For the value/throwing agreement and record tests.
 */
import { GuestFault } from '../src/guest-fault.ts';
import type { RepHypercallDescriptor, SimpleHypercallDescriptor } from '../src/host/descriptor.ts';
import type { HvPartition } from '../src/host/partition.ts';
import { HvStatus } from '../src/wire/status.ts';
import { enableTestHypercalls, makePartition, registerTestHypercalls, TestCall } from './fixtures.ts';

/** Call codes of this file's descriptors (not TLFS codes). */
export const OutcomeCall = {
  /** Simple, u64 in = the VP to wait on while it is locked, u64 out = 0x600D. Fast XMM. */
  Wait: 0x7101,
  /** Rep, one u64 element per VP to wait on. */
  WaitRep: 0x7102,
  /** Simple, no input: the handler injects #GP. */
  Fault: 0x7107,
  /** Simple, u64 in: records a diagnostic (through the call and the partition), then fails with a reason. */
  Refuse: 0x7108,
} as const;

/** Every call code the agreement properties draw from: the test calls, these, NotifyLongSpinWait, an unknown one. */
export const OUTCOME_CODES = [
  TestCall.Echo,
  TestCall.RepDouble,
  TestCall.RegisterOnly,
  TestCall.MemoryOnly,
  TestCall.Gated,
  TestCall.XmmInputOnly,
  OutcomeCall.Wait,
  OutcomeCall.WaitRep,
  OutcomeCall.Fault,
  OutcomeCall.Refuse,
  0x0008,
  0x1234,
] as const;

export interface OutcomePartition {
  readonly partition: HvPartition;
  /** VPs whose "lock" suspends a Wait call that names them. */
  readonly locked: Set<number>;
}

/** A partition with hypercalls enabled, the test calls and this file's calls registered. */
export function outcomePartition(vcpus = 4, maxRepsPerCall = 4095): OutcomePartition {
  const partition = makePartition({ vcpus, maxRepsPerCall });
  enableTestHypercalls(partition);
  registerTestHypercalls(partition);
  const locked = new Set<number>();
  const wait: SimpleHypercallDescriptor = {
    kind: 'simple',
    code: OutcomeCall.Wait,
    name: 'TestWait',
    fixedInputBytes: 8,
    outputBytes: 8,
    fast: 'xmm',
    handler(call) {
      const target = Number(call.input.getBigUint64(0, true) % 64n);
      if (locked.has(target)) call.suspend(target, `VP ${target} is locked`);
      call.output.setBigUint64(0, 0x600dn, true);
      return HvStatus.SUCCESS;
    },
  };
  const waitRep: RepHypercallDescriptor = {
    kind: 'rep',
    code: OutcomeCall.WaitRep,
    name: 'TestWaitRep',
    fixedInputBytes: 0,
    inputElementBytes: 8,
    outputElementBytes: 8,
    handler(call) {
      for (let i = call.repStart; i < call.repEnd; i++) {
        const target = Number(call.input.getBigUint64(call.inputElementOffset(i), true) % 64n);
        if (locked.has(target)) call.suspend(target, `element ${i}`);
        call.output.setBigUint64(call.outputElementOffset(i), 0x600dn, true);
      }
      return { status: HvStatus.SUCCESS, repsCompleted: call.repEnd };
    },
  };
  const fault: SimpleHypercallDescriptor = {
    kind: 'simple',
    code: OutcomeCall.Fault,
    name: 'TestFault',
    fixedInputBytes: 0,
    outputBytes: 0,
    fast: 'register',
    handler(call) {
      throw new GuestFault('GP', `VP ${call.vp} asked for a #GP`);
    },
  };
  const refuse: SimpleHypercallDescriptor = {
    kind: 'simple',
    code: OutcomeCall.Refuse,
    name: 'TestRefuse',
    fixedInputBytes: 8,
    outputBytes: 0,
    fast: 'register',
    handler(call) {
      call.diagnose('test.refuse.call', `input 0x${call.input.getBigUint64(0, true).toString(16)}`);
      partition.diagnose('test.refuse.partition', call.vp, 'straight to the partition');
      return call.fail(HvStatus.INVALID_PARAMETER, 'the test call refuses everything');
    },
  };
  for (const d of [wait, waitRep, fault, refuse]) partition.dispatcher.register(d);
  return { partition, locked };
}
