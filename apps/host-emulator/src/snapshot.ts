import { readFileSync } from 'node:fs';
import { type SnapshotData, SnapshotError } from '@pvlab/hypercall/host';
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

const envelope = z.object({
  format: z.literal(SNAPSHOT_FORMAT, { error: `expected format '${SNAPSHOT_FORMAT}'` }),
  formatVersion: z.literal(SNAPSHOT_FORMAT_VERSION, {
    error: `this host reads snapshot format version ${SNAPSHOT_FORMAT_VERSION}`,
  }),
  savedBy: z.string(),
  options: z.record(z.string(), z.unknown()),
  parts: z.record(
    z.string(),
    z.object(
      { version: z.number().int().min(1), data: z.unknown() },
      { error: 'expected { version, data }' },
    ),
  ),
});

/** Checks a snapshot's envelope (not its parts: each part checks its own data on restore). */
export function parseSnapshot(value: unknown): VmSnapshot {
  const parsed = envelope.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : '(snapshot)';
    throw new SnapshotError(`snapshot ${where}: ${issue.message}`);
  }
  return parsed.data as unknown as VmSnapshot;
}

/** Reads a snapshot file; a missing or malformed file is a one-line SnapshotError. */
export function readSnapshotFile(path: string): VmSnapshot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    throw new SnapshotError(
      `cannot read snapshot ${path}: ${missing ? 'no such file' : describeFsError(error)}`,
      {
        cause: error,
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SnapshotError(`snapshot ${path}: not JSON (was it written by pvlab-host run --save?)`);
  }
  return parseSnapshot(json);
}

/** Writes a snapshot atomically: a failed save leaves no partial file. */
export function writeSnapshotFile(path: string, snapshot: VmSnapshot): void {
  writeFileAtomically(path, `${JSON.stringify(snapshot)}\n`, 'snapshot', SnapshotError);
}
