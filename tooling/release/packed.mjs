// The packages as npm gets them, shared by the release (`release.mjs`) and the smoke test
// (`tooling/smoke/smoke.mjs`): which workspace packages are published, packing them with pnpm
// (which rewrites `workspace:` ranges exactly as `pnpm publish`, and so `changeset publish`, does),
// reading a tarball, and the check every packed manifest must pass.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** @typedef {{ name: string, version: string, private?: boolean } & Record<string, unknown>} Manifest */
/** @typedef {{ dir: string, manifest: Manifest }} WorkspacePackage */

export const root = fileURLToPath(new URL('../../', import.meta.url));

/** The workspace's package folders (pnpm-workspace.yaml); only the first two hold published packages. */
const WORKSPACE_DIRS = ['packages', 'apps', 'tooling'];
const PUBLISHED_DIRS = ['packages', 'apps'];

/** The fields that name other packages. A consumer installs all but devDependencies. */
export const DEPENDENCY_FIELDS = [
  'dependencies',
  'peerDependencies',
  'optionalDependencies',
  'devDependencies',
];

/**
 * Every package of the workspace under `dir`, sorted by name.
 * @param {string} [dir]
 * @returns {WorkspacePackage[]}
 */
export function workspacePackages(dir = root) {
  return WORKSPACE_DIRS.flatMap((group) =>
    existsSync(join(dir, group))
      ? readdirSync(join(dir, group))
          .map((name) => join(dir, group, name))
          .filter((pkgDir) => existsSync(join(pkgDir, 'package.json')))
          .map((pkgDir) => ({ dir: pkgDir, manifest: readJson(join(pkgDir, 'package.json')) }))
      : [],
  ).sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));
}

/**
 * The packages `changeset publish` publishes: the public ones under packages/ and apps/.
 * @param {string} [dir]
 */
export function publicPackages(dir = root) {
  return workspacePackages(dir).filter(
    (pkg) => !pkg.manifest.private && PUBLISHED_DIRS.some((group) => pkg.dir.startsWith(join(dir, group))),
  );
}

/**
 * pnpm runs scripts with npm_execpath pointing at itself (also when pnpm came from npx); a script
 * run by hand gets the root package.json's pinned pnpm through npx (pnpm need not be installed).
 * @returns {string[]} the command and its leading arguments
 */
export function pnpmCommand() {
  const execpath = process.env.npm_execpath;
  if (execpath?.includes('pnpm')) return [process.execPath, execpath];
  return ['npx', '-y', readJson(join(root, 'package.json')).packageManager];
}

/**
 * Packs `packages` into `dest` with one `pnpm pack` run over them.
 * @param {WorkspacePackage[]} packages
 * @param {string} dest an empty folder
 * @returns {{ ok: boolean, output: string, tarballs: string[] }} `tarballs`: every .tgz in `dest`
 */
export function packPackages(packages, dest) {
  const [pnpm = 'pnpm', ...pnpmArgs] = pnpmCommand();
  const filters = packages.flatMap((pkg) => ['--filter', pkg.manifest.name]);
  const r = spawnSync(pnpm, [...pnpmArgs, '-r', ...filters, 'pack', '--pack-destination', dest], {
    cwd: root,
    encoding: 'utf8',
    timeout: 180_000,
  });
  const output = `${r.error ? `${r.error.message}\n` : ''}${r.stdout ?? ''}${r.stderr ?? ''}`;
  const tarballs = readdirSync(dest)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(dest, f));
  return { ok: r.status === 0, output, tarballs };
}

/**
 * The files of an npm tarball (paths inside its `package/` folder) and its package.json.
 * A .tgz is a gzipped ustar archive: 512-byte headers, each followed by its file's data.
 * @param {string} file
 * @returns {{ manifest: Manifest, files: string[], bytes: number }}
 */
export function readTarball(file) {
  const gz = readFileSync(file);
  const tar = gunzipSync(gz);
  const field = (/** @type {number} */ at, /** @type {number} */ len) =>
    tar.toString('utf8', at, at + len).replace(/\0.*$/s, '');
  const files = [];
  let manifest;
  let longPath; // a pax ('x') or GNU ('L') header gives the next entry's path when ustar's is too short
  for (let at = 0; at + 512 <= tar.length && tar[at] !== 0; ) {
    const size = Number.parseInt(field(at + 124, 12).trim() || '0', 8);
    const type = field(at + 156, 1) || '0';
    const prefix = field(at + 345, 155);
    const name = longPath ?? (prefix ? `${prefix}/${field(at, 100)}` : field(at, 100));
    const data = tar.subarray(at + 512, at + 512 + size);
    longPath =
      type === 'x'
        ? /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1]
        : type === 'L'
          ? data.toString('utf8').replace(/\0.*$/s, '')
          : undefined;
    if (type === '0') {
      const path = name.replace(/^[^/]*\//, ''); // npm strips the top folder (`package/`)
      files.push(path);
      if (path === 'package.json') manifest = JSON.parse(data.toString('utf8'));
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  if (!manifest) throw new Error(`${file} has no package/package.json`);
  return { manifest, files, bytes: gz.length };
}

/**
 * What is wrong with a packed manifest, one line each (empty when nothing is):
 * - `workspace:` left anywhere (npm cannot install such a range);
 * - a dependency on a workspace package whose range is not `^<that package's current version>`
 *   (`workspace:^` packs to exactly that; anything else means a stale or hand-written range);
 * - a consumer-installed dependency on a private workspace package (never on npm);
 * - a name or version that is not the workspace package's.
 * @param {Manifest} manifest the packed package.json
 * @param {WorkspacePackage[]} workspace the workspace's packages (their manifests as in the repo)
 * @returns {string[]}
 */
export function checkPackedManifest(manifest, workspace) {
  const byName = new Map(workspace.map((pkg) => [pkg.manifest.name, pkg.manifest]));
  const problems = workspaceRanges(manifest).map((at) => `${at}: a workspace: range was left`);
  const own = byName.get(manifest.name);
  if (!own) problems.push(`${manifest.name} is not a workspace package`);
  else if (manifest.version !== own.version) {
    problems.push(`version is ${manifest.version}, the workspace has ${own.version}`);
  }
  for (const field of DEPENDENCY_FIELDS) {
    const deps = /** @type {Record<string, string> | undefined} */ (manifest[field]) ?? {};
    for (const [dep, range] of Object.entries(deps)) {
      const target = byName.get(dep);
      if (!target) continue; // an external package
      if (target.private && field !== 'devDependencies') {
        problems.push(`${field}["${dep}"]: ${dep} is private, npm will never have it`);
      }
      const expected = `^${target.version}`;
      if (range !== expected) {
        problems.push(
          `${field}["${dep}"] is "${range}", expected "${expected}" (${dep} is ${target.version})`,
        );
      }
    }
  }
  return problems;
}

/**
 * The paths (`dependencies["x"]`, `a["b"][2]`) of every string value that contains `workspace:`.
 * @param {unknown} value
 * @param {string} [at]
 * @returns {string[]}
 */
function workspaceRanges(value, at = '') {
  if (typeof value === 'string') return value.includes('workspace:') ? [`${at} = "${value}"`] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => workspaceRanges(v, `${at}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => workspaceRanges(v, at ? `${at}["${k}"]` : k));
  }
  return [];
}

/** @param {string} file */
function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}
