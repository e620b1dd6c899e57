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

/** Reads a snapshot bigint (`0x…`), or throws SnapshotError naming `where`. */
export function readSnapshotU64(value: SnapshotData | undefined, where: string): bigint {
  if (typeof value !== 'string' || !/^0x[0-9a-f]{1,16}$/.test(value)) {
    throw new SnapshotError(
      `${where} = ${JSON.stringify(value) ?? 'missing'}: expected a 64-bit hex string like "0x1f"`,
    );
  }
  return BigInt(value);
}

/** Reads a snapshot object, or throws SnapshotError naming `where`. */
export function readSnapshotObject(
  value: SnapshotData | undefined,
  where: string,
): { readonly [key: string]: SnapshotData } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SnapshotError(`${where} = ${JSON.stringify(value) ?? 'missing'}: expected an object`);
  }
  return value as { readonly [key: string]: SnapshotData };
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
