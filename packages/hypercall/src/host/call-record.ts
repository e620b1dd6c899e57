import type { GuestFaultVector } from '../guest-fault.js';
import { hvCallName } from '../wire/call-code.js';
import { decodeHypercallControl } from '../wire/control.js';
import { decodeHypercallResult } from '../wire/result.js';
import { HvStatus, type HvStatusCode, hvStatusName } from '../wire/status.js';
import type { HypercallDetail } from './call-detail.js';

/**
 * One hypercall as observers and traces see it: who made it, its decoded control, how it ended
 * and, while details are recorded, what it was. The direct harness's observers
 * (`HypercallDispatcher.observe`) and a trace decoded after the run (`buildHypercallRecord` over
 * the words it logged) produce this same type.
 */
export interface HypercallRecord {
  readonly vp: number;
  readonly control: bigint;
  readonly callCode: number;
  /** The registered call's name, or the spec's name of the code (`unknown call 0x1234`). */
  readonly name: string;
  readonly fast: boolean;
  readonly variableHeaderSize: number;
  readonly repCount: number;
  readonly repStartIndex: number;
  /** The result's status and RepsCompleted; SUCCESS and 0 when the call suspended or faulted. */
  readonly status: HvStatusCode;
  readonly repsCompleted: number;
  /** Set when the handler suspended the caller (no status was written; see `HypercallSuspended`). */
  readonly suspendedOn?: number;
  /** Set when the call ended in a fault the guest takes instead of a result. */
  readonly fault?: GuestFaultVector;
  /**
   * What the call was (GPAs, decoded input and output, the reason of its status, the diagnostics
   * it raised): only while details are recorded.
   */
  readonly detail?: HypercallDetail;
}

/**
 * How a call ended, as far as a record needs it: the result value, or the suspension or fault
 * instead (a `DispatchOutcome` is one; a log may keep only the VP waited on, or the vector).
 */
export type HypercallEnd =
  | bigint
  | { readonly kind: 'suspended'; readonly waitingOn: number }
  | { readonly kind: 'fault'; readonly vector: GuestFaultVector };

/** What `buildHypercallRecord` makes a record of. */
export interface HypercallRecordFacts {
  readonly vp: number;
  /** The control value (RCX). */
  readonly control: bigint;
  readonly end: HypercallEnd;
  /** The registered call's name; default the spec's name of the code (`hvCallName`). */
  readonly name?: string;
  readonly detail?: HypercallDetail;
}

/** A record under construction: its optional fields are set only when they apply. */
type RecordDraft = { -readonly [K in keyof HypercallRecord]: HypercallRecord[K] };

/**
 * The record of one call from its raw facts. The dispatcher builds its observers' records with
 * it; a host that logs raw words for speed decodes them with it at the end of the run (pass the
 * `detail` taken with `HypercallDispatcher.takeDetail` at the call). The name is `f.name`, else
 * `callName` of the code (a dispatcher's table), else the spec's name. No spread or copy of the
 * facts: a trace decodes one record per logged call, millions in a long run.
 */
export function buildHypercallRecord(
  f: HypercallRecordFacts,
  callName?: (code: number) => string,
): HypercallRecord {
  const c = decodeHypercallControl(f.control);
  const end = f.end;
  const result = typeof end === 'bigint' ? decodeHypercallResult(end) : undefined;
  const record: RecordDraft = {
    vp: f.vp,
    control: f.control,
    callCode: c.callCode,
    name: f.name ?? (callName ? callName(c.callCode) : hvCallName(c.callCode)),
    fast: c.fast,
    variableHeaderSize: c.variableHeaderSize,
    repCount: c.repCount,
    repStartIndex: c.repStartIndex,
    status: result === undefined ? HvStatus.SUCCESS : result.status,
    repsCompleted: result === undefined ? 0 : result.repsCompleted,
  };
  if (typeof end !== 'bigint') {
    if (end.kind === 'suspended') record.suspendedOn = end.waitingOn;
    else record.fault = end.vector;
  }
  if (f.detail !== undefined) record.detail = f.detail;
  return record;
}

/** How a trace names a record's end: the HV_STATUS name, `SUSPENDED`, or the fault (`#UD`). */
export function hypercallRecordStatus(r: HypercallRecord): string {
  if (r.fault !== undefined) return `#${r.fault}`;
  return r.suspendedOn !== undefined ? 'SUSPENDED' : hvStatusName(r.status);
}
