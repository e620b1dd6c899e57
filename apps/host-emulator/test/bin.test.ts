import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
};
const binPath = join(appDir, pkg.bin['pvlab-host'] ?? '');
const tmp = mkdtempSync(join(tmpdir(), 'pvlab-bin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a file with node; resolves with the exit code and output, whatever the code. */
function runNode(file: string, ...args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [file, ...args], (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

describe('the pvlab-host bin', () => {
  it('is a committed file, not a build output, so an install before the build can link it', () => {
    expect(pkg.bin['pvlab-host']).toBe('./bin/pvlab-host.mjs');
    expect(existsSync(binPath)).toBe(true);
    expect(pkg.files).toContain('bin');
    expect(readFileSync(binPath, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('runs the built CLI with its arguments', async () => {
    const r = await runNode(binPath, '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: pvlab-host/);
  });

  it('says how to build when dist/cli.mjs is missing, and exits 1', async () => {
    mkdirSync(join(tmp, 'bin'));
    const copy = join(tmp, 'bin', 'pvlab-host.mjs');
    copyFileSync(binPath, copy);
    const r = await runNode(copy, '--help');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `pvlab-host: ${join(tmp, 'dist', 'cli.mjs')} is not built: run \`npx -y pnpm@10.34.9 build\` in the pvlab repository\n`,
    );
  });
});
