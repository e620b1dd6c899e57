// What a release fixture holds, shared by the capture script and the cross-version tests, so
// that both agree on every file a release keeps.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const HOST_PACKAGE = '@pvlab/host-emulator';
export const GUEST_PACKAGE = '@pvlab/guest-emulator';

/** A release fixture directory: `host-emulator@0.1.0`, `guest-emulator@0.2.0-next.1`. */
const RELEASE_DIR = /^(host-emulator|guest-emulator)@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

/** The budget per release directory (bundles and snapshots): ~2 MiB. */
export const MAX_RELEASE_BYTES = 2 * 1024 * 1024;

/**
 * The host's files as the published package lays them out: the CLI finds `../package.json` (its
 * version) and `./vcpu.mjs` (the worker) relative to itself. Source maps are left out.
 */
export const HOST_FILES = ['package.json', 'dist/cli.mjs', 'dist/vcpu.mjs'];
/** The guest-emulator image (`@pvlab/guest-emulator/image`) and what the capture learnt of it. */
export const GUEST_FILES = ['guest.mjs', 'manifest.json'];
/** Each snapshot directory under a host's `snapshots/`. */
export const SNAPSHOT_FILES = ['snapshot.json', 'manifest.json'];

/** What a capture copies and the tests run: the current host's bundles and guest image, built. */
export const BUILT_FILES = [
  'apps/host-emulator/dist/cli.mjs',
  'apps/host-emulator/dist/vcpu.mjs',
  'apps/guest-emulator/dist/guest.mjs',
  'apps/guest-emulator/dist/index.js',
];

/** The arches a host runs guests on (`pvlab-host run --arch`). */
export const ARCHES = ['x64', 'arm64'];

/**
 * The snapshots a host release keeps: what `pvlab-host run --save` writes at the end of a run of
 * the guest-emulator. Seeded, so that a capture is reproducible; 2 vCPUs keep them small.
 * `checks` name what a restored run must show; the tests implement each name.
 */
export const SNAPSHOTS = [
  {
    name: 'x64-vmbus',
    args: ['--vcpus', '2', '--seed', '19'],
    checks: ['passed', 'vmbus-resumed'],
    expect:
      'the run passes; the guest resumes its VMBus connection and the open echo channel without a new handshake (no HvCallPostMessage) and echoes more packets than the saved run did',
  },
  {
    name: 'arm64-stolen-time',
    args: ['--arch', 'arm64', '--vcpus', '2', '--seed', '19'],
    checks: ['passed', 'stolen-time-continued'],
    expect:
      'the run passes; every vCPU keeps its stolen-time record (no new PV_TIME_ST) and reports at least the stolen time the saved run did',
  },
];

/**
 * @typedef {{ kind: 'host-emulator' | 'guest-emulator', version: string, dir: string }} Release
 * @typedef {{ hosts: Release[], guests: Release[], unknown: string[] }} Releases
 */

/** The release fixtures under `root` (none when it does not exist), oldest version first. */
export function scanReleases(/** @type {string} */ root) {
  /** @type {Releases} */
  const found = { hosts: [], guests: [], unknown: [] };
  if (!existsSync(root)) return found;
  for (const name of readdirSync(root).sort(byVersion)) {
    if (name === 'README.md') continue;
    const m = RELEASE_DIR.exec(name);
    if (!m || !statSync(join(root, name)).isDirectory()) {
      found.unknown.push(name);
      continue;
    }
    const kind = /** @type {Release['kind']} */ (m[1]);
    const release = { kind, version: /** @type {string} */ (m[2]), dir: join(root, name) };
    (kind === 'host-emulator' ? found.hosts : found.guests).push(release);
  }
  return found;
}

/** Orders `0.2.0` before `0.10.0` (and `x@0.2.0` before `x@0.10.0`): numbers compare as numbers. */
export function byVersion(/** @type {string} */ a, /** @type {string} */ b) {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The snapshot directories of a host release (each `snapshots/<name>/`). */
export function snapshotNames(/** @type {string} */ hostDir) {
  const dir = join(hostDir, 'snapshots');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isDirectory())
    .sort();
}

/**
 * The files a release fixture lacks, relative to its directory: a host needs its bundles, its
 * package.json and every snapshot of SNAPSHOTS (each with its manifest); a guest its image and
 * manifest.
 */
export function missingFiles(/** @type {Release} */ release) {
  const needed =
    release.kind === 'guest-emulator'
      ? GUEST_FILES
      : [
          ...HOST_FILES,
          ...[...new Set([...SNAPSHOTS.map((s) => s.name), ...snapshotNames(release.dir)])].flatMap((name) =>
            SNAPSHOT_FILES.map((f) => `snapshots/${name}/${f}`),
          ),
        ];
  return needed.filter((f) => !existsSync(join(release.dir, f)));
}

/** Bytes of every file under `dir`. */
export function directoryBytes(/** @type {string} */ dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}
