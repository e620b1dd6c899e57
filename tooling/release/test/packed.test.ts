import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkPackedManifest, publicPackages, readTarball, workspacePackages } from '../packed.mjs';

const workspace = workspacePackages();
const byName = new Map(workspace.map((pkg) => [pkg.manifest.name, pkg.manifest]));
const version = (name: string) => byName.get(name)!.version;

/** A public package that depends on another workspace package (its packed manifest as pnpm writes it). */
const dependent = publicPackages().find((pkg) =>
  Object.keys(pkg.manifest['dependencies'] ?? {}).some((dep) => byName.has(dep)),
)!;
const deps = dependent.manifest['dependencies'] as Record<string, string>;
const dep = Object.keys(deps).find((name) => byName.has(name))!;
const packed = () => ({
  ...dependent.manifest,
  dependencies: Object.fromEntries(
    Object.entries(deps).map(([name, range]) => [name, byName.has(name) ? `^${version(name)}` : range]),
  ),
});

describe('checkPackedManifest', () => {
  it('passes a manifest whose workspace ranges pnpm rewrote to ^<current version>', () => {
    expect(dependent).toBeDefined();
    expect(checkPackedManifest(packed(), workspace)).toEqual([]);
  });

  it('names every `workspace:` left, wherever it is', () => {
    const manifest = { ...packed(), dependencies: { ...packed().dependencies, [dep]: 'workspace:^' } };
    const nested = { ...manifest, publishConfig: { tag: ['npm:x@workspace:*'] } };
    const problems = checkPackedManifest(nested, workspace);
    expect(problems).toContain(`dependencies["${dep}"] = "workspace:^": a workspace: range was left`);
    expect(problems).toContain(`publishConfig["tag"][0] = "npm:x@workspace:*": a workspace: range was left`);
  });

  it('refuses a range between packages that is not ^<current version>', () => {
    for (const range of ['^0.0.0-stale', version(dep), '*', `~${version(dep)}`]) {
      const manifest = { ...packed(), devDependencies: { [dep]: range } };
      expect(checkPackedManifest(manifest, workspace)).toEqual([
        `devDependencies["${dep}"] is "${range}", expected "^${version(dep)}" (${dep} is ${version(dep)})`,
      ]);
    }
  });

  it('refuses a dependency a consumer installs on a private workspace package', () => {
    const priv = workspace.find((pkg) => pkg.manifest.private)!.manifest;
    const manifest = { ...packed(), optionalDependencies: { [priv.name]: `^${priv.version}` } };
    expect(checkPackedManifest(manifest, workspace)).toEqual([
      `optionalDependencies["${priv.name}"]: ${priv.name} is private, npm will never have it`,
    ]);
  });

  it('refuses a version or a name the workspace does not have', () => {
    expect(checkPackedManifest({ ...packed(), version: '9.9.9' }, workspace)).toEqual([
      `version is 9.9.9, the workspace has ${dependent.manifest.version}`,
    ]);
    expect(checkPackedManifest({ ...packed(), name: '@pvlab/nope' }, workspace)).toEqual([
      '@pvlab/nope is not a workspace package',
    ]);
  });
});

describe('readTarball', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'pvlab-release-tar-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  // Longer than ustar's 100-byte name field: stored with a ustar prefix, a pax or a GNU header.
  const deep = `dist/${'a-long-folder-name/'.repeat(8)}index.js`;
  const manifest = { name: '@pvlab/example', version: '1.2.3' };

  // System tar writes each header format a packer may use; npm strips the `package/` folder.
  it.each(['ustar', 'pax', 'gnu'])('lists the files and reads package.json of a %s archive', (format) => {
    const src = join(tmp, format);
    mkdirSync(join(src, 'package', deep, '..'), { recursive: true });
    writeFileSync(join(src, 'package', 'package.json'), JSON.stringify(manifest));
    writeFileSync(join(src, 'package', deep), 'x'.repeat(1000)); // data over two 512-byte blocks
    writeFileSync(join(src, 'package', 'README.md'), '');
    const file = join(tmp, `${format}.tgz`);
    const tar = spawnSync('tar', [`--format=${format}`, '-czf', file, '-C', src, 'package'], {
      encoding: 'utf8',
    });
    expect(tar.status, tar.stderr).toBe(0);

    const read = readTarball(file);
    expect(read.manifest).toEqual(manifest);
    expect(read.files.sort()).toEqual([deep, 'README.md', 'package.json'].sort());
    expect(read.bytes).toBeGreaterThan(0);
  });
});
