import { readFileSync } from 'node:fs';
import { listSnapshotNames, type SnapshotData, SnapshotError, showSnapshotText } from '@pvlab/hypercall/host';
import { z } from 'zod';
import type { ResolvedVmOptions } from './options.js';
import { describeFsError, writeFileAtomically } from './trace/write.js';

export { SnapshotError } from '@pvlab/hypercall/host';

/** The envelope's name, so a random JSON file is refused with a clear message. */
export const SNAPSHOT_FORMAT = 'pvlab-vm-snapshot';
/** Version of the envelope; each part carries its own version inside. */
export const SNAPSHOT_FORMAT_VERSION = 1;

/**
 * A saved VM: the options it was created with and its named parts (`memory`, `hypercall`, each
 * installed package, `vcpu/<i>`), each with the format version its host wrote. JSON-safe.
 */
export interface VmSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly formatVersion: number;
  /** The host that wrote it, e.g. `@pvlab/host-emulator`. */
  readonly savedBy: string;
  readonly options: ResolvedVmOptions;
  readonly parts: Readonly<Record<string, { readonly version: number; readonly data: SnapshotData }>>;
}

const envelope = z.strictObject({
  format: z.literal(SNAPSHOT_FORMAT, { error: `expected format '${SNAPSHOT_FORMAT}'` }),
  formatVersion: z.literal(SNAPSHOT_FORMAT_VERSION, {
    error: `this host reads snapshot format version ${SNAPSHOT_FORMAT_VERSION}`,
  }),
  savedBy: z.string(),
  options: z.record(z.string(), z.unknown()),
  parts: z.record(
    z.string(),
    z.strictObject(
      { version: z.number().int().min(1), data: z.unknown() },
      { error: 'expected { version, data }' },
    ),
  ),
});

/**
 * The path of the first own `__proto__` key in `value`, or undefined. JSON.parse makes such a
 * key an ordinary property, but a parser that copies objects would drop it without a word.
 */
function prototypeKeyPath(value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, '']];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, path] = next;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push([v[i], `${path}[${i}]`]);
    } else {
      if (Object.hasOwn(v, '__proto__')) return path;
      for (const [k, item] of Object.entries(v)) stack.push([item, `${path}.${showSnapshotText(k)}`]);
    }
  }
  return undefined;
}

/** Checks a snapshot's envelope (not its parts: each part checks its own data on restore). */
export function parseSnapshot(value: unknown): VmSnapshot {
  const proto = prototypeKeyPath(value);
  if (proto !== undefined)
    throw new SnapshotError(
      `snapshot${proto === '' ? '' : ` ${proto.slice(1)}`}: the key '__proto__' is not accepted`,
    );
  const parsed = envelope.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where =
      issue.path.length > 0 ? ` ${issue.path.map((k) => showSnapshotText(String(k))).join('.')}` : '';
    const detail =
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${listSnapshotNames(issue.keys, 3)}`
        : issue.message;
    throw new SnapshotError(`snapshot${where}: ${detail}`);
  }
  return parsed.data as unknown as VmSnapshot;
}

/** A file name as a refusal starts: `<file>: `, a long name cut. */
export function snapshotFileLabel(path: string): string {
  return path.length > 80 ? `…${path.slice(-79)}` : path;
}

/**
 * Reads a snapshot file; a missing or malformed file is a one-line SnapshotError that starts
 * with the file's name.
 */
export function readSnapshotFile(path: string): VmSnapshot {
  const file = snapshotFileLabel(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    throw new SnapshotError(
      `${file}: cannot read the snapshot: ${missing ? 'no such file' : describeFsError(error)}`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SnapshotError(`${file}: not JSON (was it written by pvlab-host run --save?)`);
  }
  try {
    return parseSnapshot(json);
  } catch (error) {
    if (error instanceof SnapshotError)
      throw new SnapshotError(`${file}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Writes a snapshot atomically: a failed save leaves no partial file. */
export function writeSnapshotFile(path: string, snapshot: VmSnapshot): void {
  writeFileAtomically(path, `${JSON.stringify(snapshot)}\n`, 'snapshot', SnapshotError);
}
