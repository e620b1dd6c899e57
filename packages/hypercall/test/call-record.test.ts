import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { GuestFaultVector } from '../src/guest-fault.ts';
import {
  buildHypercallRecord,
  type HypercallEnd,
  type HypercallRecord,
  hypercallRecordStatus,
} from '../src/host/call-record.ts';
import type { DispatchOutcome } from '../src/host/outcome.ts';
import { rawDispatch } from '../src/testing/index.ts';
import { HvStatus } from '../src/wire/status.ts';
import { BigintRegisters, fastCall, INPUT_GPA, memoryCall, writeU64s } from './fixtures.ts';
import { OUTCOME_CODES, OutcomeCall, outcomePartition } from './outcome-fixtures.ts';

/**
 * What a host that logs raw words keeps of a call (the threaded host's columnar log): the
 * control and result halves and a small outcome code, plus the VP a suspension waits on.
 */
interface LoggedWords {
  readonly vp: number;
  readonly ctlLo: number;
  readonly ctlHi: number;
  readonly resLo: number;
  readonly resHi: number;
  /** 0: a result; 1–3: #UD, #GP, MEMORY; 4: suspended (resLo holds the VP waited on). */
  readonly outcome: number;
}

const VECTORS: readonly GuestFaultVector[] = ['UD', 'GP', 'MEMORY'];

function logWords(vp: number, control: bigint, o: DispatchOutcome): LoggedWords {
  const ctlLo = Number(control & 0xffff_ffffn);
  const ctlHi = Number(control >> 32n);
  if (typeof o === 'bigint') {
    return { vp, ctlLo, ctlHi, resLo: Number(o & 0xffff_ffffn), resHi: Number(o >> 32n), outcome: 0 };
  }
  if (o.kind === 'suspended') return { vp, ctlLo, ctlHi, resLo: o.waitingOn, resHi: 0, outcome: 4 };
  return { vp, ctlLo, ctlHi, resLo: 0, resHi: 0, outcome: 1 + VECTORS.indexOf(o.vector) };
}

/** The end of a logged call, decoded after the run. */
function endOf(w: LoggedWords): HypercallEnd {
  if (w.outcome === 0) return (BigInt(w.resHi) << 32n) | BigInt(w.resLo);
  if (w.outcome === 4) return { kind: 'suspended', waitingOn: w.resLo };
  return { kind: 'fault', vector: VECTORS[w.outcome - 1]! };
}

const call = fc.record({
  vp: fc.nat(3),
  code: fc.constantFrom(...OUTCOME_CODES),
  fast: fc.boolean(),
  varHdr: fc.nat(2),
  reps: fc.nat(3),
  start: fc.nat(3),
  slot: fc.bigInt({ min: 0n, max: 7n }),
  words: fc.boolean(),
});

describe('HypercallRecord: one record per call, observed or decoded from logged words', () => {
  fcTest.prop([fc.array(call, { minLength: 1, maxLength: 20 }), fc.subarray([0, 1, 2, 3]), fc.boolean()], {
    numRuns: 200,
  })(
    'the record an observer gets is what buildHypercallRecord makes of the call, and of its logged words',
    (calls, lockedVps, details) => {
      const { partition, locked } = outcomePartition();
      for (const vp of lockedVps) locked.add(vp);
      writeU64s(partition, INPUT_GPA, [1n, 2n, 3n, 0n]);
      const dispatcher = partition.dispatcher;
      dispatcher.recordDetails(details);
      const observed: HypercallRecord[] = [];
      dispatcher.observe((r) => observed.push(r));
      for (const c of calls) {
        for (const vp of [0, 1, 2, 3]) partition.resumeWaiters(vp);
        const io = c.words ? memoryCall(0n, 0n, 0n) : new BigintRegisters();
        io.control =
          BigInt(c.code) |
          (c.fast ? 1n << 16n : 0n) |
          (BigInt(c.varHdr) << 17n) |
          (BigInt(c.reps) << 32n) |
          (BigInt(c.start) << 48n);
        io.writeFastSlot(0, c.fast ? c.slot : INPUT_GPA + 8n * (c.slot % 4n));
        io.writeFastSlot(1, c.fast ? 0n : INPUT_GPA + 0x800n);
        const before = observed.length;
        const outcome = partition.dispatchHypercall(c.vp, io);
        const detail = dispatcher.takeDetail();
        expect(observed.length).toBe(before + 1);
        const record = observed.at(-1)!;
        expect(record.detail).toEqual(detail);
        const facts = { vp: c.vp, control: io.control, ...(detail === undefined ? {} : { detail }) };
        expect(record).toEqual(dispatcher.recordOf({ ...facts, end: outcome }));
        expect(record).toEqual(
          dispatcher.recordOf({ ...facts, end: endOf(logWords(c.vp, io.control, outcome)) }),
        );
        if (typeof outcome !== 'bigint' && outcome.kind === 'suspended') {
          expect(record.suspendedOn).toBe(outcome.waitingOn);
        }
      }
    },
  );

  it('carries the decoded control, the status, the handler reason and every diagnostic the call raised', () => {
    const { partition } = outcomePartition();
    partition.dispatcher.recordDetails(true);
    const records: HypercallRecord[] = [];
    partition.dispatcher.observe((r) => records.push(r));
    rawDispatch(partition, 2, { callCode: OutcomeCall.Refuse }, [0x2an], { outputGpa: INPUT_GPA });
    expect(records).toEqual([
      {
        vp: 2,
        control: BigInt(OutcomeCall.Refuse),
        callCode: OutcomeCall.Refuse,
        name: 'TestRefuse',
        fast: false,
        variableHeaderSize: 0,
        repCount: 0,
        repStartIndex: 0,
        status: HvStatus.INVALID_PARAMETER,
        repsCompleted: 0,
        detail: {
          inputGpa: '0x2000',
          reason: 'the test call refuses everything',
          diagnostics: [
            { rule: 'test.refuse.call', message: 'input 0x2a' },
            { rule: 'test.refuse.partition', message: 'straight to the partition' },
          ],
        },
      },
    ]);
    expect(hypercallRecordStatus(records[0]!)).toBe('HV_STATUS_INVALID_PARAMETER');
  });

  it('a dispatcher rule 6 overlap is listed in the detail; a call that raised none lists none', () => {
    const { partition } = outcomePartition();
    partition.dispatcher.recordDetails(true);
    partition.dispatchHypercall(0, memoryCall(BigInt(OutcomeCall.Wait), INPUT_GPA, INPUT_GPA));
    expect(partition.dispatcher.takeDetail()?.diagnostics).toEqual([
      { rule: 'spec01.rule6.overlap', message: 'input list [0x2000, +8) overlaps output list [0x2000, +8)' },
    ]);
    partition.dispatchHypercall(0, fastCall(0x1_0008n, [1n]));
    expect(partition.dispatcher.takeDetail()).not.toHaveProperty('diagnostics');
  });

  it('names how a call ended: the HV_STATUS, SUSPENDED or the fault', () => {
    const { partition, locked } = outcomePartition();
    locked.add(1);
    const records: HypercallRecord[] = [];
    partition.dispatcher.observe((r) => records.push(r));
    rawDispatch(partition, 0, { callCode: OutcomeCall.Wait }, [1n]);
    rawDispatch(partition, 1, { callCode: OutcomeCall.Fault });
    rawDispatch(partition, 1, { callCode: 0x1234 });
    expect(records.map((r) => [hypercallRecordStatus(r), r.suspendedOn, r.fault])).toEqual([
      ['SUSPENDED', 1, undefined],
      ['#GP', undefined, 'GP'],
      ['HV_STATUS_INVALID_HYPERCALL_CODE', undefined, undefined],
    ]);
  });

  it('buildHypercallRecord names an unregistered call by the spec table', () => {
    expect(buildHypercallRecord({ vp: 0, control: 0x1_0008n, end: 0n }).name).toBe(
      'HvCallNotifyLongSpinWait',
    );
    expect(buildHypercallRecord({ vp: 0, control: 0x7777n, end: 2n })).toMatchObject({
      name: 'unknown call 0x7777',
      status: HvStatus.INVALID_HYPERCALL_CODE,
    });
  });
});
