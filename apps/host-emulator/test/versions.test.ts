import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_FORMAT_VERSION } from '../src/snapshot.ts';
import { guest, run } from './cli-harness.ts';

const versionOf = (manifest: string): string =>
  (JSON.parse(readFileSync(fileURLToPath(new URL(manifest, import.meta.url)), 'utf8')) as { version: string })
    .version;
const host = versionOf('../package.json');
const guestEmulator = versionOf('../../guest-emulator/package.json');

describe('pvlab-host reports the versions it pairs', () => {
  it('info names the host, the guest-emulator it runs by default and the snapshot format', async () => {
    const r = await run('info');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      `versions: pvlab-host ${host}, guest-emulator ${guestEmulator}, snapshot format ${SNAPSHOT_FORMAT_VERSION}\n`,
    );
    const arm = await run('info', '--arch', 'arm64');
    expect(arm.out).toContain(`versions: pvlab-host ${host}, guest-emulator ${guestEmulator}`);
  });

  it('info --json and run --json carry them as `versions`', { timeout: 120_000 }, async () => {
    const expected = { host, guestEmulator, snapshotFormat: SNAPSHOT_FORMAT_VERSION };
    const info = await run('info', '--json');
    expect(JSON.parse(info.out).versions).toEqual(expected);
    const ran = await run('run', '--json', '--guest-arg', 'workload=spin-wait');
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.out).versions).toEqual(expected);
    // A guest program ran, not the guest-emulator: no guest-emulator version is claimed.
    const program = await run('run', '--json', '--guest', guest('resume-counter.mjs'));
    expect(JSON.parse(program.out).versions).toEqual({ ...expected, guestEmulator: null });
  });
});
