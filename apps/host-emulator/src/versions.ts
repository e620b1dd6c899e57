import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SNAPSHOT_FORMAT_VERSION } from './snapshot.js';

/**
 * The software a run or `pvlab-host info` comes from. The host and the guest-emulator are
 * released apart and paired at install time, so a report names both, and the snapshot format
 * the host writes.
 */
export interface PvlabVersions {
  /** `@pvlab/host-emulator`'s version. */
  readonly host: string;
  /** The version of the `@pvlab/guest-emulator` this host runs by default, or null if none is installed. */
  readonly guestEmulator: string | null;
  /** The snapshot format version `--save` writes (and the newest `--restore` reads). */
  readonly snapshotFormat: number;
}

// src/, dist/ and the bundled bin all sit one level below package.json.
const require = createRequire(import.meta.url);

function versionOf(manifest: string): string {
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** `@pvlab/host-emulator`'s own version. */
export const HOST_VERSION = versionOf(require.resolve('../package.json'));

/** What `pvlab-host info` and `run --json` report as `versions`. */
export function pvlabVersions(): PvlabVersions {
  let guestEmulator: string | null = null;
  try {
    guestEmulator = versionOf(require.resolve('@pvlab/guest-emulator/package.json'));
  } catch {
    // Not installed beside this host: `--guest` programs still run.
  }
  return { host: HOST_VERSION, guestEmulator, snapshotFormat: SNAPSHOT_FORMAT_VERSION };
}

/** `pvlab-host 0.1.1, guest-emulator 0.1.0, snapshot format 1`. */
export function versionsLine(v: PvlabVersions): string {
  return `pvlab-host ${v.host}, guest-emulator ${v.guestEmulator ?? 'not installed'}, snapshot format ${v.snapshotFormat}`;
}
