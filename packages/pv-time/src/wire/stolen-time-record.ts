/**
 * The stolen-time record (struct pvclock_vcpu_stolen_time) — spec 06 "Stolen-time record":
 * 64 bytes, 64-byte aligned, little-endian; only the first 16 bytes carry meaning.
 */
export const StolenTimeRecord = {
  revision: 0,
  attributes: 4,
  stolenTime: 8,
  /** The meaningful prefix; bytes 16..63 are padding (zero). */
  meaningfulBytes: 16,
  bytes: 64,
  alignment: 64,
} as const;

/** The only revision defined (DEN0057A 1.0); guests refuse any other (rule 5). */
export const STOLEN_TIME_REVISION = 0;
/** The only attributes value defined. */
export const STOLEN_TIME_ATTRIBUTES = 0;

/** The fields of a stolen-time record. */
export interface StolenTimeRecordFields {
  /** u32. */
  readonly revision: number;
  /** u32. */
  readonly attributes: number;
  /** u64 ns this vCPU was runnable but not running. */
  readonly stolenTime: bigint;
}

/** `true` when `ipa` is 64-byte aligned (KVM refuses others with −EINVAL). */
export function isStolenTimeRecordAligned(ipa: bigint): boolean {
  return (ipa & BigInt(StolenTimeRecord.alignment - 1)) === 0n;
}

/**
 * Writes a whole record (64 bytes, padding zeroed) at `offset`. Revision and attributes default
 * to 0. Throws a RangeError for values that do not fit their fields.
 */
export function writeStolenTimeRecord(
  view: DataView,
  offset: number,
  fields: Partial<StolenTimeRecordFields> = {},
): void {
  const revision = fields.revision ?? STOLEN_TIME_REVISION;
  const attributes = fields.attributes ?? STOLEN_TIME_ATTRIBUTES;
  const stolenTime = fields.stolenTime ?? 0n;
  for (const [name, v] of [
    ['revision', revision],
    ['attributes', attributes],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
      throw new RangeError(`stolen-time record ${name} = ${v} is not accepted: use a u32`);
    }
  }
  if (stolenTime < 0n || stolenTime > 0xffff_ffff_ffff_ffffn) {
    throw new RangeError(`stolen-time record stolenTime = ${stolenTime} is not accepted: use a u64`);
  }
  for (let i = 0; i < StolenTimeRecord.bytes; i += 8) view.setBigUint64(offset + i, 0n, true);
  view.setUint32(offset + StolenTimeRecord.revision, revision, true);
  view.setUint32(offset + StolenTimeRecord.attributes, attributes, true);
  view.setBigUint64(offset + StolenTimeRecord.stolenTime, stolenTime, true);
}

/** Reads the meaningful 16 bytes of a record at `offset`. */
export function readStolenTimeRecord(view: DataView, offset: number): StolenTimeRecordFields {
  return {
    revision: view.getUint32(offset + StolenTimeRecord.revision, true),
    attributes: view.getUint32(offset + StolenTimeRecord.attributes, true),
    stolenTime: view.getBigUint64(offset + StolenTimeRecord.stolenTime, true),
  };
}
