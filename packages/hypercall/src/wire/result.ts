import { defineBitLayout, splitU64 } from './bit-layout.js';
import type { HvStatusCode } from './status.js';

/** The hypercall result value (RAX) — spec 01 "Result value". */
export const HypercallResult = defineBitLayout('HypercallResult', [
  { name: 'Status', lsb: 0, width: 16 },
  { name: 'Rsvd0', lsb: 16, width: 16, kind: 'reserved-ignore' },
  { name: 'RepsCompleted', lsb: 32, width: 12 },
  { name: 'Rsvd1', lsb: 44, width: 20, kind: 'reserved-ignore' },
] as const);

/** A decoded result value. RepsCompleted is absolute, not relative to RepStartIndex. */
export interface HypercallResultFields {
  readonly status: HvStatusCode;
  readonly repsCompleted: number;
}

const status = HypercallResult.field('Status');
const reps = HypercallResult.field('RepsCompleted');

/** Decodes a result value; the reserved bits are ignored as the TLFS tells callers to. */
export function decodeHypercallResult(result: bigint): HypercallResultFields {
  const [lo, hi] = splitU64(result);
  return { status: status.get(lo, hi), repsCompleted: reps.get(lo, hi) };
}

// Results for zero reps are the common case; keep them as ready bigints, indexed by status.
const zeroRepResults: bigint[] = [];

/** Encodes a result value (reserved bits written as zero). */
export function encodeHypercallResult(statusCode: HvStatusCode, repsCompleted = 0): bigint {
  if (repsCompleted === 0) {
    const s = statusCode & 0xffff;
    let r = zeroRepResults[s];
    if (r === undefined) {
      r = BigInt(s);
      zeroRepResults[s] = r;
    }
    return r;
  }
  return BigInt(statusCode & 0xffff) | (BigInt(repsCompleted & 0xfff) << 32n);
}
