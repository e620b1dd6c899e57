/**
 * The capture script (`pnpm fixtures:capture`), run as a process on the built workspace into a
 * temporary directory: what it writes, that it never overwrites a release, and its flags.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  directoryBytes,
  GUEST_PACKAGE,
  HOST_PACKAGE,
  MAX_RELEASE_BYTES,
  missingFiles,
  SNAPSHOTS,
  scanReleases,
  snapshotNames,
} from '../src/layout.mjs';
import { type Exit, ONE_RUN_MS, readJson, repoRoot, requireBuiltWorkspace } from './harness.ts';

const script = join(repoRoot, 'tooling/compat/capture-fixtures.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'pvlab-capture-'));
const out = join(tmp, 'releases');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const version = (dir: string) => readJson<{ version: string }>(join(repoRoot, dir, 'package.json')).version;
const hostVersion = version('apps/host-emulator');
const guestVersion = version('apps/guest-emulator');
const hostDir = join(out, `host-emulator@${hostVersion}`);
const guestDir = join(out, `guest-emulator@${guestVersion}`);

function capture(...args: string[]): Promise<Exit> {
  return new Promise((done) => {
    execFile(process.execPath, [script, ...args], { cwd: tmp, timeout: 300_000 }, (error, stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

let first: Exit;
beforeAll(async () => {
  requireBuiltWorkspace();
  first = await capture('--out', out);
}, ONE_RUN_MS);

describe('capture-fixtures.mjs on the built workspace', () => {
  it('writes both releases with every file the tests need, and says what it wrote', () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`wrote ${guestDir}, ${hostDir}\n`);
    const found = scanReleases(out);
    expect(found.unknown).toEqual([]);
    expect(found.hosts.map((r) => r.version)).toEqual([hostVersion]);
    expect(found.guests.map((r) => r.version)).toEqual([guestVersion]);
    for (const r of [...found.hosts, ...found.guests]) expect(missingFiles(r)).toEqual([]);
    expect(snapshotNames(hostDir)).toEqual(SNAPSHOTS.map((s) => s.name).sort());
  });

  it('keeps the bundles as built, without source maps, and names the runtime dependencies', () => {
    for (const f of ['dist/cli.mjs', 'dist/vcpu.mjs']) {
      expect(
        readFileSync(join(hostDir, f)).equals(readFileSync(join(repoRoot, 'apps/host-emulator', f))),
      ).toBe(true);
    }
    expect(
      readFileSync(join(guestDir, 'guest.mjs')).equals(
        readFileSync(join(repoRoot, 'apps/guest-emulator/dist/guest.mjs')),
      ),
    ).toBe(true);
    expect(readdirSync(join(hostDir, 'dist')).sort()).toEqual(['cli.mjs', 'vcpu.mjs']);
    expect(readJson(join(hostDir, 'package.json'))).toMatchObject({
      name: HOST_PACKAGE,
      version: hostVersion,
      bin: { 'pvlab-host': './dist/cli.mjs' },
      dependencies: { [GUEST_PACKAGE]: `^${guestVersion}`, esbuild: '0.28.2' },
    });
    expect(readJson(join(guestDir, 'manifest.json'))).toEqual({
      name: GUEST_PACKAGE,
      version: guestVersion,
      image: 'guest.mjs',
      arches: ['x64', 'arm64'],
      checkedWith: { [HOST_PACKAGE]: hostVersion },
    });
  });

  it.each(SNAPSHOTS)('writes the snapshot $name with a manifest of who wrote it and how', (s) => {
    const dir = join(hostDir, 'snapshots', s.name);
    const manifest = readJson<Record<string, unknown>>(join(dir, 'manifest.json'));
    expect(manifest).toMatchObject({
      snapshot: 'snapshot.json',
      writtenBy: { [HOST_PACKAGE]: hostVersion, [GUEST_PACKAGE]: guestVersion },
      command: ['pvlab-host', 'run', ...s.args, '--save', 'snapshot.json'].join(' '),
      restore: { command: 'pvlab-host run --restore snapshot.json', checks: s.checks, expect: s.expect },
    });
    const snapshot = readJson<{ format: string; options: { arch: string; vcpus: number } }>(
      join(dir, 'snapshot.json'),
    );
    expect(snapshot.format).toBe('pvlab-vm-snapshot');
    expect(snapshot.options).toMatchObject({ arch: s.name.split('-')[0], vcpus: 2 });
  });

  it(`keeps each release within ${MAX_RELEASE_BYTES / 1024 / 1024} MiB (the issue's budget)`, () => {
    for (const dir of [hostDir, guestDir]) expect(directoryBytes(dir)).toBeLessThanOrEqual(MAX_RELEASE_BYTES);
  });

  it(
    'never overwrites a release it finds: a second capture keeps both as they are',
    async () => {
      const marker = join(hostDir, 'snapshots', 'x64-vmbus', 'snapshot.json');
      writeFileSync(marker, 'released bytes');
      const again = await capture('--out', out);
      expect(again).toEqual({
        code: 0,
        stdout: `guest-emulator@${guestVersion}: kept as it is (a release fixture is never overwritten)\nhost-emulator@${hostVersion}: kept as it is (a release fixture is never overwritten)\nnothing to capture\n`,
        stderr: '',
      });
      expect(readFileSync(marker, 'utf8')).toBe('released bytes');
      expect(readdirSync(out).sort()).toEqual([
        `guest-emulator@${guestVersion}`,
        `host-emulator@${hostVersion}`,
      ]);
    },
    ONE_RUN_MS,
  );

  it(
    '--force replaces them, with a warning for each',
    async () => {
      const marker = join(hostDir, 'not-captured.txt');
      writeFileSync(marker, 'x');
      const forced = await capture('--out', out, '--force');
      expect(forced.code).toBe(0);
      expect(forced.stderr).toBe(
        [`guest-emulator@${guestVersion}`, `host-emulator@${hostVersion}`]
          .map(
            (n) =>
              `capture-fixtures: warning: --force replaces ${n}; a published release's fixture must stay as it was released\n`,
          )
          .join(''),
      );
      expect(existsSync(marker)).toBe(false);
      expect(missingFiles({ kind: 'host-emulator', version: hostVersion, dir: hostDir })).toEqual([]);
      expect(readdirSync(out).sort()).toEqual([
        `guest-emulator@${guestVersion}`,
        `host-emulator@${hostVersion}`,
      ]);
    },
    ONE_RUN_MS,
  );
});

describe('capture-fixtures.mjs flags', () => {
  it('--help says what it writes and exits 0', async () => {
    const r = await capture('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pnpm fixtures:capture \[--out <dir>\] \[--force\]\n/);
    expect(r.stdout).toContain('never\noverwritten');
  });

  it.each([
    [['--bogus'], "unknown option '--bogus': accepted: --out <dir>, --force, --help"],
    [['--out'], '--out: give a directory (--out <dir>)'],
    [['--out='], "--out '': give a directory"],
    [['--force=yes'], '--force takes no value'],
    [['somewhere'], "unexpected argument 'somewhere': the script takes only --out <dir>, --force, --help"],
    [['--out', script], `--out '${script}': not a directory`],
  ])('%j: one line, exit 2, nothing written', async (args, message) => {
    const r = await capture(...args);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `capture-fixtures: ${message}\n` });
    expect(existsSync(join(tmp, 'somewhere'))).toBe(false);
  });
});
