import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here('../../../');

/** Runs one of this package's scripts with node. */
function run(script: string, args: string[]) {
  const r = spawnSync(process.execPath, [here(`../${script}`), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('release.mjs flags', () => {
  it('--help prints the usage and exits 0', () => {
    const r = run('release.mjs', ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pnpm release \[--dry-run\] \[--built\]/);
    for (const flag of ['--dry-run', '--built', '--help']) expect(r.stdout).toContain(flag);
  });

  it.each([['--dryrun'], ['--dry-run', 'now'], ['-n']])('refuses %s in one line, exit 2', (...args) => {
    const r = run('release.mjs', args);
    expect(r.status).toBe(2);
    const bad = args.find((a) => a !== '--dry-run');
    expect(r.stderr).toBe(`release: unknown flag '${bad}': use --dry-run, --built or --help\n`);
    expect(r.stdout).toBe('');
  });
});

describe('lint-workflows.mjs', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'pvlab-workflows-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("passes the repository's workflows", () => {
    const r = run('lint-workflows.mjs', []);
    expect(r.stdout).toContain('ok   .github/workflows/ci.yml');
    expect(r.stdout).toContain('ok   .github/workflows/release.yml');
    expect(r.stdout).toMatch(/^Workflows: 2 valid, 0 invalid$/m);
    expect(r.status).toBe(0);
  });

  // Each a one-word slip in a copy of release.yml: a misspelled key, a misspelled input of a known
  // action, a permission scope that does not exist.
  it.each([
    ['runs-on:', 'runs_on:', /unexpected key "runs_on" for "job" section/],
    [
      'node-version:',
      'node-verison:',
      /input "node-verison" is not defined in action "actions\/setup-node@v4"/,
    ],
    ['id-token: write', 'id_token: write', /unknown permission scope "id_token"/],
  ])('fails a workflow where %s became %s', (from, to, message) => {
    const source = readFileSync(join(root, '.github/workflows/release.yml'), 'utf8');
    expect(source).toContain(from);
    const file = join(tmp, 'broken.yml');
    writeFileSync(file, source.replace(from, to));
    const r = run('lint-workflows.mjs', [file]);
    expect(r.stdout).toMatch(message);
    expect(r.stdout).toMatch(/^Workflows: 0 valid, 1 invalid$/m);
    expect(r.status).toBe(1);
  });

  it('refuses an unknown flag in one line, exit 2', () => {
    const r = run('lint-workflows.mjs', ['--fix']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("lint-workflows: unknown flag '--fix': give workflow files, or --help\n");
  });
});
