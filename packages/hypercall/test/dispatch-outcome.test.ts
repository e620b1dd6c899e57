import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { GuestFault, type GuestFaultVector, guestFaultValue, isGuestFault } from '../src/guest-fault.ts';
import type { HypercallIo } from '../src/host/calling-convention.ts';
import type { DispatchOutcome } from '../src/host/outcome.ts';
import type { HvPartition } from '../src/host/partition.ts';
import { HypercallSuspended } from '../src/host/suspend.ts';
import { rawDispatch } from '../src/testing/index.ts';
import { encodeHypercallControl } from '../src/wire/control.ts';
import { HV_X64_MSR_VP_INDEX } from '../src/wire/msr.ts';
import {
  ALL_CORE_FEATURES,
  BigintRegisters,
  fastCall,
  INPUT_GPA,
  makeHypercallPartition,
  makePartition,
  memoryCall,
  OUTPUT_GPA,
  RAM_BYTES,
  TestCall,
  writeU64s,
} from './fixtures.ts';
import { OUTCOME_CODES, OutcomeCall, outcomePartition } from './outcome-fixtures.ts';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

describe('HvPartition.dispatchHypercall: what a call came to, as a value', () => {
  it('a result is the TLFS result value', () => {
    const { partition } = makeHypercallPartition();
    expect(partition.dispatchHypercall(0, fastCall(0x1_0008n, [5n]))).toBe(0n);
  });

  it('before HV_X64_MSR_HYPERCALL is enabled: a #UD fault value (no error code)', () => {
    const partition = makePartition();
    expect(partition.dispatchHypercall(1, fastCall(0x1_0008n, [5n]))).toEqual({
      kind: 'fault',
      vector: 'UD',
      message: 'hypercall from VP 1 before HV_X64_MSR_HYPERCALL is enabled',
    });
  });

  it('a list in the GPA space but not in RAM: a MEMORY fault value naming the GPA', () => {
    const { partition } = makeHypercallPartition();
    const gpa = BigInt(RAM_BYTES) + 0x1000n;
    const outcome = partition.dispatchHypercall(0, memoryCall(BigInt(TestCall.Echo), gpa, OUTPUT_GPA));
    expect(outcome).toEqual({
      kind: 'fault',
      vector: 'MEMORY',
      message: expect.stringContaining('0x11000'),
      gpa,
    });
  });

  it('a handler that injects #GP: a fault value with error code 0', () => {
    const { partition } = outcomePartition();
    expect(partition.dispatchHypercall(2, memoryCall(BigInt(OutcomeCall.Fault), 0n, 0n))).toEqual({
      kind: 'fault',
      vector: 'GP',
      message: 'VP 2 asked for a #GP',
      errorCode: 0,
    });
  });

  it('an XMM fast call without XmmFastHypercallInput (rule 13): a #UD value', () => {
    const { partition } = makeHypercallPartition({
      features: ALL_CORE_FEATURES.filter((f) => f !== 'XmmFastHypercallInput'),
    });
    expect(partition.dispatchHypercall(0, fastCall(BigInt(TestCall.Echo) | (1n << 16n), [1n, 2n]))).toEqual({
      kind: 'fault',
      vector: 'UD',
      message: 'XMM fast TestEcho while XMM fast hypercall input is not exposed',
    });
  });

  it('a control bit on an exactControl call (spec 03 rule 3): a #UD value', () => {
    const { partition } = outcomePartition();
    partition.dispatcher.register({
      kind: 'simple',
      code: 0x7109,
      name: 'TestBare',
      fixedInputBytes: 0,
      outputBytes: 0,
      exactControl: true,
      handler: () => 0,
    });
    expect(partition.dispatchHypercall(0, memoryCall(0x7109n | (1n << 16n), 0n, 0n))).toEqual({
      kind: 'fault',
      vector: 'UD',
      message: 'TestBare with control 0x17109: only the bare call code 0x7109 is accepted',
    });
  });

  it('a suspension names the caller, the VP it waits on and why, and is recorded on the caller', () => {
    const { partition, locked } = outcomePartition();
    locked.add(3);
    const outcome = partition.dispatchHypercall(1, fastCall(BigInt(OutcomeCall.Wait) | (1n << 16n), [3n]));
    expect(outcome).toEqual({ kind: 'suspended', vp: 1, waitingOn: 3, reason: 'VP 3 is locked' });
    expect(partition.vp(1).suspension).toEqual({ waitingOn: 3, reason: 'VP 3 is locked' });
    expect(() => partition.dispatchHypercall(1, fastCall(0x1_0008n, [0n]))).toThrow(/resumeWaiters\(3\)/);
    expect(partition.resumeWaiters(3)).toEqual([1]);
  });

  it('rawDispatch is rawCall without the throw', () => {
    const { partition, locked } = outcomePartition();
    locked.add(0);
    const { outcome, regs } = rawDispatch(partition, 1, { callCode: OutcomeCall.Wait }, [0n]);
    expect(outcome).toMatchObject({ kind: 'suspended', vp: 1, waitingOn: 0 });
    expect(regs.rdx).toBe(INPUT_GPA);
  });
});

/** An outcome, thrown or returned, in one comparable form. */
type Seen =
  | { result: bigint }
  | { suspended: [number, number, string] }
  | { fault: [GuestFaultVector, string, bigint | undefined] }
  | { error: string };

function fromValue(o: DispatchOutcome): Seen {
  if (typeof o === 'bigint') return { result: o };
  if (o.kind === 'suspended') return { suspended: [o.vp, o.waitingOn, o.reason] };
  return { fault: [o.vector, `#${o.vector}: ${o.message}`, o.gpa] };
}

function fromThrow(e: unknown): Seen {
  if (e instanceof HypercallSuspended) return { suspended: [e.vp, e.waitingOn, e.reason] };
  if (isGuestFault(e)) {
    expect(e).toBeInstanceOf(GuestFault);
    return { fault: [e.vector, e.message, e.gpa] };
  }
  return { error: e instanceof Error ? e.message : String(e) };
}

/** One step of a random session: a call from `vp`, or a release of every VP waiting on `vp`. */
const step = fc.record({
  resume: fc.boolean(),
  vp: fc.nat(3),
  code: fc.constantFrom(...OUTCOME_CODES),
  fast: fc.boolean(),
  reps: fc.nat(3),
  start: fc.nat(3),
  noise: fc.oneof(fc.constant(0n), u64),
  slots: fc.array(fc.bigInt({ min: 0n, max: 7n }), { minLength: 14, maxLength: 14 }),
  words: fc.boolean(),
});

type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

function registersOf(s: Step): HypercallIo & { control: bigint } {
  const io = s.words ? memoryCall(0n, 0n, 0n) : new BigintRegisters();
  // Mostly well-formed controls, sometimes any bits at all.
  io.control =
    s.noise % 5n === 1n
      ? s.noise
      : BigInt(s.code) | (s.fast ? 1n << 16n : 0n) | (BigInt(s.reps) << 32n) | (BigInt(s.start) << 48n);
  // Memory calls point RDX/R8 at the input and output pages (slot values pick an offset).
  const slots = s.fast ? s.slots : [INPUT_GPA + 8n * s.slots[0]!, OUTPUT_GPA + 0x100n * s.slots[1]!];
  slots.forEach((v, i) => {
    io.writeFastSlot(i, v);
  });
  return io;
}

describe('the value path and the throwing wrapper agree', () => {
  fcTest.prop([fc.array(step, { minLength: 1, maxLength: 25 }), fc.subarray([0, 1, 2, 3])], { numRuns: 300 })(
    'a session of random calls and releases: same outcomes, registers, memory, suspensions and diagnostics',
    (steps, lockedVps) => {
      const values = outcomePartition();
      const throwing = outcomePartition();
      for (const p of [values, throwing]) {
        for (const vp of lockedVps) p.locked.add(vp);
        writeU64s(p.partition, INPUT_GPA, [0n, 1n, 2n, 3n, 3n, 2n, 1n, 0n]);
      }
      const state = (p: HvPartition, io: HypercallIo) => ({
        slots: Array.from({ length: 14 }, (_, i) => io.readFastSlot(i)),
        output: [io.fastOutputFirstSlot, io.fastOutputSlots],
        memory: [...p.memory.bytes.subarray(Number(OUTPUT_GPA), Number(OUTPUT_GPA) + 0x400)],
        suspended: p.suspendedVps(),
        diagnostics: p.diagnostics(),
      });
      for (const s of steps) {
        if (s.resume) {
          expect(values.partition.resumeWaiters(s.vp)).toEqual(throwing.partition.resumeWaiters(s.vp));
          continue;
        }
        const a = registersOf(s);
        const b = registersOf(s);
        let valueSeen: Seen;
        try {
          valueSeen = fromValue(values.partition.dispatchHypercall(s.vp, a));
        } catch (e) {
          // Only a host usage error (a call from a suspended VP) may throw on the value path.
          expect(isGuestFault(e) || e instanceof HypercallSuspended).toBe(false);
          valueSeen = { error: (e as Error).message };
        }
        let thrownSeen: Seen;
        try {
          thrownSeen = { result: throwing.partition.hypercall(s.vp, b) };
        } catch (e) {
          thrownSeen = fromThrow(e);
        }
        expect(valueSeen).toEqual(thrownSeen);
        expect(state(values.partition, a)).toEqual(state(throwing.partition, b));
      }
    },
  );

  fcTest.prop([fc.integer({ min: 2, max: 8 }), fc.nat(7), fc.nat(7), fc.boolean(), fc.nat(3)])(
    'a suspension names the calling VP and the VP it waits on, whatever the call form',
    (vcpus, a, b, rep, position) => {
      const caller = a % vcpus;
      const target = b % vcpus === caller ? (caller + 1) % vcpus : b % vcpus;
      const { partition, locked } = outcomePartition(vcpus);
      locked.add(target);
      // Rep form: the locked VP is element `position` of four; the others are free.
      const free = [...Array(vcpus).keys()].find((v) => v !== target)!;
      const elements = [0, 1, 2, 3].map((i) => BigInt(i === position ? target : free));
      const outcome = rep
        ? rawDispatch(partition, caller, { callCode: OutcomeCall.WaitRep, repCount: 4 }, elements).outcome
        : rawDispatch(partition, caller, { callCode: OutcomeCall.Wait }, [BigInt(target)]).outcome;
      expect(outcome).toEqual({
        kind: 'suspended',
        vp: caller,
        waitingOn: target,
        reason: rep ? `element ${position}` : `VP ${target} is locked`,
      });
      expect(partition.suspendedVps()).toEqual([
        { vp: caller, waitingOn: target, reason: rep ? `element ${position}` : `VP ${target} is locked` },
      ]);
      expect(partition.resumeWaiters(target)).toEqual([caller]);
    },
  );
});

describe('GuestFault and its value', () => {
  const vector = fc.constantFrom<GuestFaultVector>('UD', 'GP', 'MEMORY');
  fcTest.prop([vector, fc.string(), fc.option(u64, { nil: undefined })])(
    'GuestFault.of(value).fault is the value; the message gets the #XX prefix; #GP alone has an error code',
    (v, message, gpa) => {
      const value = guestFaultValue(v, message, gpa);
      const e = GuestFault.of(value);
      expect(e.fault).toEqual(value);
      expect([e.vector, e.message, e.gpa]).toEqual([v, `#${v}: ${message}`, gpa]);
      expect(value.errorCode).toBe(v === 'GP' ? 0 : undefined);
    },
  );
});

describe('MSR accesses as values (readMsrOutcome / writeMsrOutcome)', () => {
  it('a value, or the #GP the throwing form raises', () => {
    const partition = makePartition();
    expect(partition.readMsrOutcome(1, HV_X64_MSR_VP_INDEX)).toBe(1n);
    expect(partition.writeMsrOutcome(1, HV_X64_MSR_VP_INDEX, 0n)).toEqual({
      kind: 'fault',
      vector: 'GP',
      message: 'VP 1 wrote the read-only HV_X64_MSR_VP_INDEX',
      errorCode: 0,
    });
  });

  fcTest.prop([fc.oneof(fc.constantFrom(0x4000_0000n, 0x4000_0001n, 0x4000_0002n, 0x830n), u64), u64])(
    'agree with readMsr/writeMsr on any MSR and value',
    (msr, value) => {
      const seen = (fn: () => unknown): unknown => {
        try {
          return fn() ?? 'written';
        } catch (e) {
          return isGuestFault(e) ? e.fault : e;
        }
      };
      const a = makePartition();
      const b = makePartition();
      expect(seen(() => a.writeMsrOutcome(0, msr, value))).toEqual(seen(() => b.writeMsr(0, msr, value)));
      expect(seen(() => a.readMsrOutcome(0, msr))).toEqual(seen(() => b.readMsr(0, msr)));
    },
  );
});

it('control words from encodeHypercallControl reach the value path unchanged', () => {
  const { partition } = outcomePartition();
  const control = encodeHypercallControl({ callCode: OutcomeCall.Refuse, fast: true });
  expect(partition.dispatchHypercall(0, fastCall(control, [1n]))).toBe(5n); // INVALID_PARAMETER
});
