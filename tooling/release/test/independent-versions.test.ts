// Versions move independently: in a temporary copy of the workspace's manifests, one changeset
// and the repo's pinned `changeset version` bump that package and only the dependents that
// .changeset/config.json and the manifests say, and change nothing else. The expected set is
// computed from the manifests with changesets' documented rule, never written down.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { root, workspacePackages } from '../packed.mjs';

const rootRequire = createRequire(join(root, 'package.json'));
const changesetBin = rootRequire.resolve('@changesets/cli/bin.js');
// The semver changesets itself decides with (its own dependency), for the range rule below.
const semver: { satisfies(v: string, range: string): boolean; inc(v: string, type: string): string } =
  createRequire(changesetBin)('semver');

type Manifest = { name: string; version: string; private?: boolean } & Record<string, unknown>;
type Bump = 'patch' | 'minor';
const config = JSON.parse(readFileSync(join(root, '.changeset/config.json'), 'utf8'));
const manifests: Manifest[] = workspacePackages().map((pkg) => pkg.manifest);
const byName = new Map(manifests.map((m) => [m.name, m]));
const RELEASING_FIELDS = ['dependencies', 'optionalDependencies'] as const;
const depsOf = (m: Manifest, field: string) => (m[field] ?? {}) as Record<string, string>;

/** Every file under `dir` (path relative to it → content). */
function snapshot(dir: string, sub = ''): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(join(dir, sub))) {
    const path = join(sub, name);
    if (statSync(join(dir, path)).isDirectory()) for (const [p, c] of snapshot(dir, path)) files.set(p, c);
    else files.set(path, readFileSync(join(dir, path), 'utf8'));
  }
  return files;
}

/**
 * The versions `changeset version` must give: the changeset's package gets its bump; a package
 * that depends on a released one (dependencies, optionalDependencies; devDependencies release
 * nothing) gets a patch when the new version leaves its range (`workspace:^` means ^<old version>),
 * or always with `updateInternalDependents: "always"`. Repeated until nothing more is released.
 * Private and ignored packages are never released (privatePackages.version is false).
 */
function expectedVersions(name: string, bump: Bump): Map<string, string> {
  const always =
    config.___experimentalUnsafeOptions_WILL_CHANGE_IN_PATCH?.updateInternalDependents === 'always';
  const releasable = (m: Manifest) =>
    !(m.private && !config.privatePackages?.version) && !config.ignore.includes(m.name);
  const released = new Map([[name, semver.inc(byName.get(name)!.version, bump)]]);
  const queue = [name];
  for (let dep = queue.shift(); dep !== undefined; dep = queue.shift()) {
    const oldVersion = byName.get(dep)!.version;
    for (const m of manifests.filter((m) => releasable(m) && !released.has(m.name))) {
      const ranges = RELEASING_FIELDS.map((f) => depsOf(m, f)[dep]).filter((r) => r !== undefined);
      const leaves = (range: string) =>
        !semver.satisfies(released.get(dep)!, workspaceRange(range, oldVersion));
      if (ranges.some((range) => always || leaves(range))) {
        released.set(m.name, semver.inc(m.version, 'patch'));
        queue.push(m.name);
      }
    }
  }
  return released;
}

/** The range a `workspace:` range stands for (what `pnpm pack` writes) given the dependency's version. */
function workspaceRange(range: string, version: string) {
  const spec = range.replace(/^workspace:/, '');
  return spec === '*' ? version : spec === '^' || spec === '~' ? `${spec}${version}` : spec;
}

describe('changeset version moves versions independently', () => {
  let tmp: string;
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  /** Copies the manifests the CLI reads into a temp dir, adds one changeset, runs `changeset version`. */
  function version(name: string, bump: Bump) {
    tmp = mkdtempSync(join(tmpdir(), 'pvlab-versions-'));
    const files = [
      'package.json',
      'pnpm-workspace.yaml',
      '.changeset/config.json',
      ...workspacePackages().map((pkg) => relative(root, join(pkg.dir, 'package.json'))),
    ];
    for (const file of files) {
      mkdirSync(dirname(join(tmp, file)), { recursive: true });
      writeFileSync(join(tmp, file), readFileSync(join(root, file)));
    }
    const changeset = `.changeset/independent-${bump}.md`;
    writeFileSync(join(tmp, changeset), `---\n'${name}': ${bump}\n---\n\nA ${bump} change to ${name}.\n`);
    const before = snapshot(tmp);
    const r = spawnSync(process.execPath, [changesetBin, 'version'], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    return { before, after: snapshot(tmp), changeset };
  }

  function check(name: string, bump: Bump) {
    const expected = expectedVersions(name, bump);
    const { before, after, changeset } = version(name, bump);
    const pathOf = new Map(
      [...before]
        .filter(([p]) => p.endsWith('package.json'))
        .map(([p, c]) => [JSON.parse(c).name as string, p]),
    );

    // Exactly the expected packages have a new version; every other manifest is byte for byte the same.
    for (const m of manifests) {
      const path = pathOf.get(m.name)!;
      const now: Manifest = JSON.parse(after.get(path)!);
      if (!expected.has(m.name)) {
        expect(after.get(path), `${m.name} should not change`).toBe(before.get(path));
        continue;
      }
      expect(now.version, m.name).toBe(expected.get(m.name));
      // Only the version moved. Ranges between packages stay `workspace:` (changesets leaves those
      // as they are), so the packed manifest carries ^<new version> of each released dependency.
      expect({ ...now, version: m.version }).toEqual(JSON.parse(before.get(path)!));
      for (const [dep, range] of Object.entries(depsOf(now, 'dependencies'))) {
        if (!expected.has(dep)) continue;
        expect(range, `${m.name} → ${dep}`).toMatch(/^workspace:/);
        expect(semver.satisfies(expected.get(dep)!, workspaceRange(range, expected.get(dep)!))).toBe(true);
      }
    }

    // A CHANGELOG for exactly those, naming the change or the dependencies that moved.
    const changelogs = [...after.keys()].filter((p) => p.endsWith('CHANGELOG.md'));
    expect(changelogs.sort()).toEqual(
      [...expected.keys()].map((n) => join(dirname(pathOf.get(n)!), 'CHANGELOG.md')).sort(),
    );
    for (const [pkg, newVersion] of expected) {
      const log = after.get(join(dirname(pathOf.get(pkg)!), 'CHANGELOG.md'))!;
      expect(log).toMatch(new RegExp(`^# ${pkg}\\n\\n## ${newVersion.replaceAll('.', '\\.')}\\n`));
      if (pkg === name) expect(log).toContain(`A ${bump} change to ${name}.`);
      else expect(log).toContain('Updated dependencies');
    }

    // Nothing else: the changeset is consumed, every other file is as it was.
    const touched = new Set([changeset, ...changelogs, ...[...expected.keys()].map((n) => pathOf.get(n)!)]);
    const rest = (files: Map<string, string>) => [...files].filter(([p]) => !touched.has(p));
    expect(after.has(changeset)).toBe(false);
    expect(rest(after)).toEqual(rest(before));
    return expected;
  }

  it('a patch of @pvlab/pv-time bumps it and the dependents whose range it leaves', {
    timeout: 120_000,
  }, () => {
    const released = check('@pvlab/pv-time', 'patch');
    expect(released.get('@pvlab/pv-time')).toBe(semver.inc(byName.get('@pvlab/pv-time')!.version, 'patch'));
  });

  it('a patch of @pvlab/host-emulator, which nothing depends on, bumps it alone', {
    timeout: 120_000,
  }, () => {
    const dependents = manifests.filter((m) =>
      ['dependencies', 'optionalDependencies', 'peerDependencies'].some(
        (f) => '@pvlab/host-emulator' in depsOf(m, f),
      ),
    );
    expect(dependents.filter((m) => !m.private).map((m) => m.name)).toEqual([]);
    expect([...check('@pvlab/host-emulator', 'patch').keys()]).toEqual(['@pvlab/host-emulator']);
  });

  // A 0.x minor is breaking: it leaves every ^0.y range, so every package that depends on
  // @pvlab/hypercall, directly or through another, must get a release.
  it('a minor of @pvlab/hypercall bumps every package depending on it, transitively', {
    timeout: 120_000,
  }, () => {
    const dependsOn = (m: Manifest, target: string, seen = new Set<string>()): boolean =>
      RELEASING_FIELDS.some((f) =>
        Object.keys(depsOf(m, f)).some(
          (d) =>
            d === target || (byName.has(d) && !seen.has(d) && dependsOn(byName.get(d)!, target, seen.add(d))),
        ),
      );
    const transitive = manifests
      .filter((m) => !m.private && dependsOn(m, '@pvlab/hypercall'))
      .map((m) => m.name);
    expect(transitive.length).toBeGreaterThan(0);
    expect([...check('@pvlab/hypercall', 'minor').keys()].sort()).toEqual(
      ['@pvlab/hypercall', ...transitive].sort(),
    );
  });

  it('the rule above is the whole rule here: no peer dependencies between workspace packages', () => {
    const peers = manifests.flatMap((m) =>
      Object.keys(depsOf(m, 'peerDependencies')).filter((d) => byName.has(d)),
    );
    expect(peers).toEqual([]); // changesets gives peer dependents a major bump: extend expectedVersions first
  });
});
