/**
 * Versioned snapshot parts. A snapshot is a set of named parts (memory, each package's host
 * state, each vCPU), each with its own format version, so a newer host can restore an older
 * snapshot part by part, and a part it does not know is refused by name rather than misread.
 */

/** The longest SnapshotError message: a refusal is one line a user can read. */
export const SNAPSHOT_MESSAGE_MAX = 300;

/**
 * A restore that cannot proceed: the message names the part, the field and what is accepted.
 * It is always one line of at most SNAPSHOT_MESSAGE_MAX characters (longer text is cut with '…').
 */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';

  constructor(message: string, options?: ErrorOptions) {
    const line = message.replace(/\s*[\r\n]+\s*/g, ' ');
    super(line.length > SNAPSHOT_MESSAGE_MAX ? `${line.slice(0, SNAPSHOT_MESSAGE_MAX - 1)}…` : line, options);
  }
}

/**
 * The largest count a snapshot carries: 2^53 - 1, the largest integer a JSON number holds
 * exactly. A host counter that went past it saves as this value (`snapshotCount`), so a VM
 * restored with any count it accepts can keep counting and still save a snapshot it reads back.
 */
export const SNAPSHOT_COUNT_MAX = Number.MAX_SAFE_INTEGER;

/** A count as a snapshot saves it: saturated at SNAPSHOT_COUNT_MAX. */
export function snapshotCount(value: number): number {
  return Math.min(value, SNAPSHOT_COUNT_MAX);
}

/** Every count of `counters` as a snapshot saves it. */
export function snapshotCounts<K extends string>(counters: Readonly<Record<K, number>>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of Object.keys(counters) as K[]) out[k] = snapshotCount(counters[k]);
  return out;
}

/** Text from a snapshot as a message shows it: at most 40 characters, then '…'. */
export function showSnapshotText(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Names as a message lists them: the first `max`, then 'and N more'. */
export function listSnapshotNames(names: readonly string[], max = 6): string {
  const shown = names.slice(0, max).map((n) => `'${showSnapshotText(n)}'`);
  const more = names.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more.toLocaleString('en-US')} more` : shown.join(', ');
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

/** The value as a field error shows it: one line, at most 40 characters, then '…'. */
export function showSnapshotValue(value: SnapshotData | undefined): string {
  return showSnapshotText(JSON.stringify(value) ?? 'missing');
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

/**
 * Reads a snapshot object, or throws SnapshotError naming `where`. With `fields`, a key that is
 * not one of them (a misspelt field, `__proto__`, `constructor`) is refused by name.
 */
export function readSnapshotObject(
  value: SnapshotData | undefined,
  where: string,
  fields?: readonly string[],
): { readonly [key: string]: SnapshotData } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw snapshotFieldError(where, value, 'an object');
  }
  if (fields !== undefined) {
    const unknown = Object.keys(value).filter((k) => !fields.includes(k));
    if (unknown.length > 0) {
      throw new SnapshotError(
        `${where}: unknown field${unknown.length > 1 ? 's' : ''} ${listSnapshotNames(unknown, 3)} (it has ${fields.join(', ')})`,
      );
    }
  }
  return value as { readonly [key: string]: SnapshotData };
}

/** Reads `true` or `false`, or throws SnapshotError naming `where`. */
export function readSnapshotBoolean(value: SnapshotData | undefined, where: string): boolean {
  if (typeof value !== 'boolean') throw snapshotFieldError(where, value, 'true or false');
  return value;
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

/** Reads a count (an integer 0..SNAPSHOT_COUNT_MAX), or throws SnapshotError naming `where`. */
export function readSnapshotCount(value: SnapshotData | undefined, where: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > SNAPSHOT_COUNT_MAX)
    throw snapshotFieldError(where, value, 'a count 0..2^53-1');
  return value as number;
}

/** Reads canonical base64 of at most `maxBytes` bytes, or throws SnapshotError naming `where`. */
export function readSnapshotBase64(
  value: SnapshotData | undefined,
  where: string,
  maxBytes: number,
): Uint8Array {
  if (typeof value === 'string' && value.length <= Math.ceil(maxBytes / 3) * 4) {
    const bytes = Buffer.from(value, 'base64');
    if (bytes.toString('base64') === value && bytes.length <= maxBytes) return new Uint8Array(bytes);
  }
  throw snapshotFieldError(where, value, `base64 of at most ${maxBytes} bytes`);
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
