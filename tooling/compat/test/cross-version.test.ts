/**
 * Versions that differ still work together, tested against the released artifacts kept in
 * fixtures/releases/ (or PVLAB_FIXTURES_DIR): for every release found,
 *  - the current host runs that release's guest image, and that release's host (its own
 *    bundles, with its runtime imports resolved to the current workspace) runs the current
 *    guest image; with a feature the guest uses turned off on the host, the guest makes none of
 *    the calls it gates and still passes;
 *  - the current host, with the current guest-emulator, restores each of that release's
 *    snapshots and runs the workload to the end, and refuses by name a copy claiming a newer format.
 * Runs the built workspace (`pnpm test` builds first).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { runPvlabHost, SNAPSHOT_FORMAT_VERSION } from '@pvlab/host-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHES,
  GUEST_PACKAGE,
  HOST_PACKAGE,
  missingFiles,
  scanReleases,
  snapshotNames,
} from '../src/layout.mjs';
import {
  FEATURES,
  featureUses,
  REFUSALS,
  RESTORE_CHECKS,
  type SnapshotManifest,
  versionBefore,
} from './checks.ts';
import {
  A_FEW_RUNS_MS,
  currentHostCli,
  type Exit,
  fixturesRoot,
  hostInfo,
  installReleasedHost,
  ONE_RUN_MS,
  pvlabHost,
  readJson,
  readTrace,
  repoRoot,
  requireBuiltWorkspace,
  runPassing,
} from './harness.ts';

const releases = scanReleases(fixturesRoot);
/** The workspace's guest-emulator: the image an older host runs in the pairings below. */
const CURRENT_GUEST_VERSION = readJson<{ version: string }>(
  join(repoRoot, 'apps/guest-emulator/package.json'),
).version;
const shownRoot = relative(repoRoot, fixturesRoot).startsWith('..')
  ? fixturesRoot
  : relative(repoRoot, fixturesRoot);
const tmp = mkdtempSync(join(tmpdir(), 'pvlab-compat-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(requireBuiltWorkspace);

/** `pvlab-host …args` run in this process (the current sources): its exit code and output. */
async function inProcess(args: string[]): Promise<Exit> {
  let stdout = '';
  let stderr = '';
  const code = await runPvlabHost(args, { out: (s) => (stdout += s), err: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

/** Computes `f()` once, on first use (a run several tests read). */
function once<T>(f: () => T): () => T {
  let value: { v: T } | undefined;
  return () => {
    value ??= { v: f() };
    return value.v;
  };
}

describe(`the release fixtures in ${shownRoot}`, () => {
  if (releases.hosts.length + releases.guests.length === 0) {
    console.warn(`compat: no release fixtures in ${shownRoot}: the cross-version tests are skipped`);
    it.skip(`none found: no release to test against (after a release, \`pnpm fixtures:capture\` writes them)`, () => {});
  }

  it('are release directories only (host-emulator@<version>, guest-emulator@<version>) and a README', () => {
    expect(releases.unknown, 'not a release fixture').toEqual([]);
  });
});

/**
 * One host and one guest image of different provenance: the guest passes on every arch, and
 * with a feature it uses turned off on the host it makes none of that feature's calls.
 */
function pairingTests(p: {
  cli: () => string;
  guestFlags: readonly string[];
  /** The guest-emulator release whose image runs. */
  guestVersion: string;
  arches: readonly string[];
  dir: string;
}) {
  const info = once(() => hostInfo(p.cli()));
  const baseline = once(async () => {
    const trace = join(p.dir, 'baseline-trace.json');
    const run = await runPassing(p.cli(), ['--vcpus', '4', ...p.guestFlags, '--trace', trace]);
    return { run, trace: readTrace(trace) };
  });

  it(
    'x64, 4 vCPUs: the guest passes',
    async () => {
      const { run } = await baseline();
      expect([run.arch, run.vcpus, run.failures]).toEqual(['x64', 4, []]);
    },
    ONE_RUN_MS,
  );

  for (const arch of p.arches.filter((a) => a !== 'x64')) {
    it(
      `${arch}, 4 vCPUs: the guest passes${arch === 'arm64' ? ' and every vCPU has its stolen time' : ''}`,
      async () => {
        const run = await runPassing(p.cli(), ['--arch', arch, '--vcpus', '4', ...p.guestFlags]);
        expect([run.arch, run.vcpus, run.failures]).toEqual([arch, 4, []]);
        if (arch === 'arm64') {
          expect(run.stolenTimeNs).toHaveLength(4);
          expect(run.stolenTimeNs).not.toContain(null);
        }
      },
      ONE_RUN_MS,
    );
  }

  for (const feature of FEATURES) {
    if (feature.guestsFrom !== undefined && versionBefore(p.guestVersion, feature.guestsFrom)) {
      it.skip(`${feature.name}=off on the host: guest-emulator ${p.guestVersion} does not honour it (fixed in ${feature.guestsFrom})`, () => {});
      continue;
    }
    it(
      `${feature.name}=off on the host: the guest makes none of its calls and still passes`,
      async () => {
        const [hostFacts, used] = await Promise.all([info(), baseline()]);
        // Offered, the guest uses the feature: otherwise turning it off would prove nothing.
        expect(featureUses(feature, hostFacts, used.run, used.trace)).not.toEqual([]);
        const trace = join(p.dir, `${feature.name}-off-trace.json`);
        const run = await runPassing(p.cli(), [
          '--vcpus',
          '4',
          ...p.guestFlags,
          '--feature',
          `${feature.name}=off`,
          '--trace',
          trace,
        ]);
        expect(featureUses(feature, hostFacts, run, readTrace(trace))).toEqual([]);
        expect(run.failedCalls.filter((c) => REFUSALS.includes(c.status))).toEqual([]);
      },
      A_FEW_RUNS_MS,
    );
  }
}

for (const release of releases.guests) {
  const manifestFile = join(release.dir, 'manifest.json');
  // Read while collecting (it says which arches to run); a missing one fails the file test below.
  const manifest = existsSync(manifestFile)
    ? readJson<{ name: string; version: string; image: string; arches: string[] }>(manifestFile)
    : undefined;

  describe(`guest-emulator@${release.version}: its image on the current host`, () => {
    it('has every file a guest release keeps, for this version', () => {
      expect(missingFiles(release), `files missing in ${release.dir}`).toEqual([]);
      expect(manifest).toMatchObject({ name: GUEST_PACKAGE, version: release.version, image: 'guest.mjs' });
      expect(manifest!.arches).toContain('x64');
    });

    pairingTests({
      cli: () => currentHostCli,
      guestFlags: ['--guest', join(release.dir, 'guest.mjs')],
      guestVersion: release.version,
      arches: (manifest?.arches ?? ['x64']).filter((a) => ARCHES.includes(a)),
      dir: mkdtempSync(join(tmp, `guest-${release.version}-`)),
    });
  });
}

for (const release of releases.hosts) {
  const dir = mkdtempSync(join(tmp, `host-${release.version}-`));
  const cli = once(() => installReleasedHost(release.dir, join(dir, 'install')));

  describe(`host-emulator@${release.version}`, () => {
    it(
      'has every file a host release keeps, for this version, and runs from its own bundles',
      async () => {
        expect(missingFiles(release), `files missing in ${release.dir}`).toEqual([]);
        expect(readJson(join(release.dir, 'package.json'))).toMatchObject({
          name: HOST_PACKAGE,
          version: release.version,
        });
        const r = await pvlabHost(cli(), ['--version']);
        expect(r).toEqual({ code: 0, stdout: `${release.version}\n`, stderr: '' });
      },
      ONE_RUN_MS,
    );

    describe('runs the current guest image', () => {
      pairingTests({ cli, guestFlags: [], guestVersion: CURRENT_GUEST_VERSION, arches: ARCHES, dir });
    });

    for (const name of snapshotNames(release.dir)) {
      it(
        `its snapshot ${name}: the current host restores it with the current guest-emulator, and the workload runs to the end`,
        async () => {
          const snapDir = join(release.dir, 'snapshots', name);
          const manifest = readJson<SnapshotManifest>(join(snapDir, 'manifest.json'));
          expect(manifest.writtenBy[HOST_PACKAGE]).toBe(release.version);
          const [program, command, ...args] = manifest.restore.command.split(' ');
          expect([program, command]).toEqual(['pvlab-host', 'run']);
          expect(manifest.restore.checks).toContain('passed');
          const run = await runPassing(currentHostCli, args, snapDir);
          for (const check of manifest.restore.checks) {
            expect(Object.keys(RESTORE_CHECKS), `${name}/manifest.json names check '${check}'`).toContain(
              check,
            );
            RESTORE_CHECKS[check]!(run, manifest);
          }
        },
        ONE_RUN_MS,
      );
    }

    it(
      'a copy of its snapshots that claims a newer format or part version is refused by name: exit 2, one line, nothing written',
      async () => {
        const names = snapshotNames(release.dir);
        expect(names).not.toEqual([]);
        for (const name of names) {
          const snapshot = readJson<{ parts: Record<string, { version: number }> }>(
            join(release.dir, 'snapshots', name, 'snapshot.json'),
          );
          const newer = [
            { what: 'formatVersion', copy: { ...snapshot, formatVersion: SNAPSHOT_FORMAT_VERSION + 1 } },
            ...Object.entries(snapshot.parts).map(([part, value]) => ({
              what: `part '${part}'`,
              copy: { ...snapshot, parts: { ...snapshot.parts, [part]: { ...value, version: 1_000_000 } } },
            })),
          ];
          for (const [i, { what, copy }] of newer.entries()) {
            const out = mkdtempSync(join(dir, 'newer-'));
            const file = join(out, `${name}-${i}.json`);
            writeFileSync(file, JSON.stringify(copy));
            const args = [
              'run',
              '--restore',
              file,
              '--save',
              join(out, 'saved.json'),
              '--trace',
              join(out, 'trace.json'),
            ];
            // The envelope by the built CLI as a process (its exit code), the parts in this process.
            const { code, stdout, stderr } =
              what === 'formatVersion' ? await pvlabHost(currentHostCli, args) : await inProcess(args);
            expect({ what, code, stdout }).toEqual({ what, code: 2, stdout: '' });
            expect(stderr).toMatch(new RegExp(`^pvlab-host: \\S*${basename(file)}: snapshot [^\\n]*\\n$`));
            expect(stderr).toContain(what);
            expect(readdirSync(out)).toEqual([basename(file)]);
          }
        }
      },
      ONE_RUN_MS,
    );
  });
}
