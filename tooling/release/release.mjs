// `pnpm release [--dry-run] [--built]`: the one command that publishes pvlab. See USAGE and
// README.md beside this file. The release workflow (.github/workflows/release.yml) runs it once
// the version PR is merged; CI runs `--dry-run --built` on the build and tests it just made.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkPackedManifest,
  packPackages,
  pnpmCommand,
  publicPackages,
  readTarball,
  root,
  workspacePackages,
} from './packed.mjs';

const USAGE = `Usage: pnpm release [--dry-run] [--built]

Publishes every public package (packages/*, apps/*) whose version npm does not have yet:
  1. build  (pnpm build)
  2. test   (pnpm test: lint, workflows, typecheck, build, smoke test, every test)
  3. pack   every public package with pnpm into a temporary folder, as publishing does, and
            check each packed package.json: no "workspace:" left, every dependency on a
            workspace package is ^<that package's current version>, everything in "files" packed
  4. changeset publish: uploads each package whose version npm does not have yet (it asks npm)
            and tags it <name>@<version>
A release refuses to start while changesets are pending: \`pnpm version-packages\` consumes them.

Options:
  --dry-run   everything but the upload, without the registry: step 4 prints what it would
              publish; pending changesets are reported, not refused
  --built     skip steps 1 and 2: the caller has just built and tested (CI does)
  -h, --help  print this text`;

const FLAGS = ['--dry-run', '--built', '--help', '-h'];

/**
 * The flags given; exits 2 on anything else.
 * @param {string[]} argv
 */
function parseFlags(argv) {
  for (const arg of argv) {
    if (!FLAGS.includes(arg)) {
      console.error(`release: unknown flag '${arg}': use --dry-run, --built or --help`);
      process.exit(2);
    }
  }
  return {
    dryRun: argv.includes('--dry-run'),
    built: argv.includes('--built'),
    help: argv.some((a) => a === '--help' || a === '-h'),
  };
}

/**
 * Stops the release with a one-line reason.
 * @param {string} reason
 * @returns {never}
 */
function fail(reason) {
  console.error(`release: ${reason}`);
  process.exit(1);
}

/**
 * Runs one step with its output shown as it comes; stops the release when it fails.
 * @param {string} label
 * @param {string} command
 * @param {string[]} args
 */
function step(label, command, args) {
  console.log(`release: ${label}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail(`${label} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
}

/** The changesets not yet consumed by `changeset version`. */
function pendingChangesets() {
  return readdirSync(join(root, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
}

/**
 * Entries of `files` (plain paths, no globs) of which nothing was packed: usually a missing build.
 * @param {import('./packed.mjs').Manifest} manifest
 * @param {string[]} files
 */
function missingFiles(manifest, files) {
  /** @type {unknown[]} */
  const entries = Array.isArray(manifest.files) ? manifest.files : [];
  return entries
    .filter((entry) => typeof entry === 'string')
    .filter((entry) => !/[*?{[!]/.test(entry))
    .map((entry) => entry.replace(/^\.\//, '').replace(/\/$/, ''))
    .filter((entry) => !files.some((f) => f === entry || f.startsWith(`${entry}/`)))
    .map((entry) => `"files" names ${entry}, but nothing of it was packed (not built?)`);
}

/**
 * Step 3: packs every public package and checks it. Returns what would be published, or stops.
 * @returns {{ name: string, version: string, files: number, bytes: number }[]}
 */
function packAndCheck() {
  const packages = publicPackages();
  const workspace = workspacePackages();
  console.log(`release: pack ${packages.length} public packages and check their manifests`);
  const tmp = mkdtempSync(join(tmpdir(), 'pvlab-release-'));
  try {
    const pack = packPackages(packages, tmp);
    if (!pack.ok) {
      console.error(pack.output.trim());
      fail('pnpm pack failed (output above)');
    }
    const packed = new Map(pack.tarballs.map(readTarball).map((tarball) => [tarball.manifest.name, tarball]));
    const results = packages.map(({ manifest }) => {
      const tarball = packed.get(manifest.name);
      const problems = tarball
        ? [
            ...checkPackedManifest(tarball.manifest, workspace),
            ...missingFiles(tarball.manifest, tarball.files),
          ]
        : ['pnpm pack made no tarball for it'];
      for (const problem of problems) console.error(`FAIL ${manifest.name}: ${problem}`);
      return {
        name: manifest.name,
        version: tarball?.manifest.version ?? manifest.version,
        files: tarball?.files.length ?? 0,
        bytes: tarball?.bytes ?? 0,
        ok: problems.length === 0,
      };
    });
    const failed = results.filter((r) => !r.ok).length;
    if (failed > 0)
      fail(`${failed} of ${packages.length} packed packages failed the check (FAIL lines above)`);
    return results;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The changesets CLI pinned in the root package.json (its bin path, run with this node). */
function changesetBin() {
  return createRequire(join(root, 'package.json')).resolve('@changesets/cli/bin.js');
}

const flags = parseFlags(process.argv.slice(2));
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

const pending = pendingChangesets();
if (pending.length > 0 && !flags.dryRun) {
  fail(
    `${pending.length} pending changesets (${pending.join(', ')}): run \`pnpm version-packages\`, commit, then release`,
  );
}

const [pnpm = 'pnpm', ...pnpmArgs] = pnpmCommand();
if (!flags.built) {
  step('build (pnpm build)', pnpm, [...pnpmArgs, 'build']);
  step('test (pnpm test)', pnpm, [...pnpmArgs, 'test']);
}
const results = packAndCheck();

if (!flags.dryRun) {
  step('publish (changeset publish)', process.execPath, [changesetBin(), 'publish']);
  process.exit(0);
}

for (const { name, version, files, bytes } of results) {
  console.log(`would publish ${name}@${version} (${files} files, ${(bytes / 1000).toFixed(1)} kB)`);
}
console.log(
  'changeset publish would upload each of these whose version npm does not have yet (it asks npm; a dry run does not), then tag it <name>@<version>',
);
if (pending.length > 0) {
  console.log(
    `note: ${pending.length} pending changesets: a real release refuses until \`pnpm version-packages\` consumes them`,
  );
}
console.log(`Release dry run: ${results.length} packages would publish`);
