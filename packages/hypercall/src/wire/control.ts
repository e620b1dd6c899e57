import { defineBitLayout, joinU64, splitU64 } from './bit-layout.js';

/** The hypercall input value (control, RCX) — spec 01 "Input value". */
export const HypercallControl = defineBitLayout('HypercallControl', [
  { name: 'CallCode', lsb: 0, width: 16 },
  { name: 'Fast', lsb: 16, width: 1 },
  { name: 'VariableHeaderSize', lsb: 17, width: 10 },
  { name: 'RsvdZ0', lsb: 27, width: 4, kind: 'reserved-zero' },
  { name: 'Nested', lsb: 31, width: 1 },
  { name: 'RepCount', lsb: 32, width: 12 },
  { name: 'RsvdZ1', lsb: 44, width: 4, kind: 'reserved-zero' },
  { name: 'RepStartIndex', lsb: 48, width: 12 },
  { name: 'RsvdZ2', lsb: 60, width: 4, kind: 'reserved-zero' },
] as const);

/**
 * Reserved control bits per the TLFS: the layout's RsvdZ fields (bit 31, Nested, is a field of
 * its own).
 */
export const HV_HYPERCALL_RSVD_MASK = HypercallControl.reservedZeroMask;
/** Maximum RepCount and RepStartIndex (12-bit fields). */
export const HV_HYPERCALL_REP_MAX = 0xfff;

/** A decoded control value. */
export interface HypercallControlFields {
  readonly callCode: number;
  readonly fast: boolean;
  /** Variable header size in 8-byte units. */
  readonly variableHeaderSize: number;
  readonly nested: boolean;
  readonly repCount: number;
  readonly repStartIndex: number;
  /** Set RsvdZ bits (0n when well-formed). */
  readonly reservedBits: bigint;
}

const callCode = HypercallControl.field('CallCode');
const fast = HypercallControl.field('Fast');
const varHdr = HypercallControl.field('VariableHeaderSize');
const nested = HypercallControl.field('Nested');
const repCount = HypercallControl.field('RepCount');
const repStart = HypercallControl.field('RepStartIndex');

/**
 * The control bits a call is refused for (INVALID_HYPERCALL_INPUT, spec 01 rule 1) as the u32
 * halves the dispatcher tests: the RsvdZ fields, and Nested, as pvlab models no nested hypervisor
 * (KVM's reading; see the README's decisions).
 */
export const HV_HYPERCALL_REFUSED_WORDS: readonly [lo: number, hi: number] = splitU64(
  HV_HYPERCALL_RSVD_MASK | nested.mask,
);

/** Decodes a control value into named fields. */
export function decodeHypercallControl(control: bigint): HypercallControlFields {
  const [lo, hi] = splitU64(control);
  return decodeHypercallControlWords(lo, hi);
}

/** `decodeHypercallControl` of a control value given as its u32 halves (a word-level register view). */
export function decodeHypercallControlWords(lo: number, hi: number): HypercallControlFields {
  return {
    callCode: callCode.get(lo, hi),
    fast: fast.get(lo, hi) === 1,
    variableHeaderSize: varHdr.get(lo, hi),
    nested: nested.get(lo, hi) === 1,
    repCount: repCount.get(lo, hi),
    repStartIndex: repStart.get(lo, hi),
    reservedBits: HypercallControl.reservedZeroBits(joinU64(lo, hi)),
  };
}

/** What a guest puts in a control value; omitted fields are zero. */
export interface HypercallControlInput {
  callCode: number;
  fast?: boolean;
  variableHeaderSize?: number;
  nested?: boolean;
  repCount?: number;
  repStartIndex?: number;
}

function fit(field: typeof callCode, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** field.width) {
    throw new RangeError(`HypercallControl.${field.name} = ${value} does not fit in ${field.width} bits`);
  }
  return value;
}

/**
 * Encodes a control value. Throws RangeError when a field does not fit its width. Guests issue
 * one per hypercall, so this packs the two 32-bit halves directly (at the declared positions)
 * instead of going through the generic `HypercallControl.encode`.
 */
export function encodeHypercallControl(c: HypercallControlInput): bigint {
  const lo =
    fit(callCode, c.callCode) |
    ((c.fast ? 1 : 0) << fast.lsb) |
    (fit(varHdr, c.variableHeaderSize ?? 0) << varHdr.lsb) |
    ((c.nested ? 1 : 0) << nested.lsb);
  const hi =
    (fit(repCount, c.repCount ?? 0) << (repCount.lsb - 32)) |
    (fit(repStart, c.repStartIndex ?? 0) << (repStart.lsb - 32));
  return hi === 0 ? BigInt(lo >>> 0) : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
