/**
 * Versioned snapshot parts. A snapshot is a set of named parts (memory, each package's host
 * state, each vCPU), each with its own format version, so a newer host can restore an older
 * snapshot part by part, and a part it does not know is refused by name rather than misread.
 */

/** A restore that cannot proceed: the message names the part, the field and what is accepted. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

/** JSON-safe data: snapshots are written as JSON, so 64-bit values travel as hex strings. */
export type SnapshotData =
  | null
  | boolean
  | number
  | string
  | readonly SnapshotData[]
  | { readonly [key: string]: SnapshotData };

/** One named, versioned piece of host state. */
export interface SnapshotPart {
  /** Unique within a VM, e.g. `hypercall`, `tlb-ipi`, `pv-time`. */
  readonly name: string;
  /** The version `save()` writes. */
  readonly version: number;
  /** Every version `restore()` reads, oldest first; includes `version`. */
  readonly supportedVersions: readonly number[];
  save(): SnapshotData;
  /** Replaces the state with `data`, written by a host at `version`; throws SnapshotError. */
  restore(data: SnapshotData, version: number): void;
}

/** `0x…` hex for a 64-bit value, the snapshot encoding of a bigint. */
export function snapshotU64(value: bigint): string {
  return `0x${BigInt.asUintN(64, value).toString(16)}`;
}

/** The value as a field error shows it: one line, at most 60 characters. */
function showSnapshotValue(value: SnapshotData | undefined): string {
  const text = JSON.stringify(value) ?? 'missing';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A SnapshotError `where = value: expected …`, the form every part's field errors take. */
export function snapshotFieldError(
  where: string,
  value: SnapshotData | undefined,
  expected: string,
): SnapshotError {
  return new SnapshotError(`${where} = ${showSnapshotValue(value)}: expected ${expected}`);
}

/** Reads a snapshot bigint (`0x…`), or throws SnapshotError naming `where`. */
export function readSnapshotU64(value: SnapshotData | undefined, where: string): bigint {
  if (typeof value !== 'string' || !/^0x[0-9a-f]{1,16}$/.test(value)) {
    throw snapshotFieldError(where, value, 'a 64-bit hex string like "0x1f"');
  }
  return BigInt(value);
}

/** Reads a snapshot object, or throws SnapshotError naming `where`. */
export function readSnapshotObject(
  value: SnapshotData | undefined,
  where: string,
): { readonly [key: string]: SnapshotData } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw snapshotFieldError(where, value, 'an object');
  }
  return value as { readonly [key: string]: SnapshotData };
}

/** Reads an integer `min..max`, or throws SnapshotError naming `where`. */
export function readSnapshotInt(
  value: SnapshotData | undefined,
  where: string,
  min: number,
  max: number,
): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw snapshotFieldError(where, value, `an integer ${min}..${max}`);
  }
  return value as number;
}

/** Reads a count (an integer ≥ 0), or throws SnapshotError naming `where`. */
export function readSnapshotCount(value: SnapshotData | undefined, where: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw snapshotFieldError(where, value, 'a count ≥ 0');
  return value as number;
}

/** Throws SnapshotError unless `version` is one the part reads. */
export function checkSnapshotVersion(
  part: Pick<SnapshotPart, 'name' | 'supportedVersions'>,
  version: number,
): void {
  if (!part.supportedVersions.includes(version)) {
    throw new SnapshotError(
      `snapshot part '${part.name}' has format version ${version}; this host reads version${part.supportedVersions.length > 1 ? 's' : ''} ${part.supportedVersions.join(', ')}`,
    );
  }
}
