// Captures the release fixtures of the built workspace: the host's CLI and worker bundles and
// the snapshots its runs write, and the guest-emulator's image. Everything is written into a
// staging directory beside the fixtures first and renamed into place at the end, so a failed
// capture leaves no half-written release behind.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import {
  ARCHES,
  BUILT_FILES,
  directoryBytes,
  GUEST_PACKAGE,
  HOST_FILES,
  HOST_PACKAGE,
  MAX_RELEASE_BYTES,
  SNAPSHOTS,
} from './layout.mjs';

/** A capture that cannot go on: one line, exit code 1. */
export class CaptureError extends Error {
  /** @override */
  name = 'CaptureError';
}

/**
 * @typedef {{ name: string, version: string, dependencies?: Record<string, string> }} PackageJson
 * @typedef {{ root: string, out: string, force: boolean, log: (line: string) => void, warn: (line: string) => void }} CaptureOptions
 */

const readJson = (/** @type {string} */ file) => JSON.parse(readFileSync(file, 'utf8'));
const writeJson = (/** @type {string} */ file, /** @type {unknown} */ value) =>
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

/** The workspace's apps: their manifests and the built files a capture copies. */
function workspace(/** @type {string} */ root) {
  const hostDir = join(root, 'apps/host-emulator');
  const guestDir = join(root, 'apps/guest-emulator');
  const missing = BUILT_FILES.find((f) => !existsSync(join(root, f)));
  if (missing !== undefined) {
    throw new CaptureError(
      `${missing} is not built: run \`npx -y pnpm@10.34.9 build\` first (\`pnpm fixtures:capture\` does)`,
    );
  }
  return {
    hostDir,
    guestDir,
    hostBin: join(hostDir, 'bin/pvlab-host.mjs'),
    /** @type {PackageJson} */ host: readJson(join(hostDir, 'package.json')),
    /** @type {PackageJson} */ guest: readJson(join(guestDir, 'package.json')),
  };
}

/**
 * Runs the workspace's `pvlab-host run … --json` in `cwd`; the parsed summary of a passing run.
 * @returns {{ passed: boolean, vmbusEcho?: { packets: number }, stolenTimeNs?: (string | null)[] }}
 */
function runHost(/** @type {string} */ bin, /** @type {string[]} */ args, /** @type {string} */ cwd) {
  const r = spawnSync(process.execPath, [bin, 'run', ...args, '--json'], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
  });
  const said = `${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
  if (r.status !== 0) {
    throw new CaptureError(`pvlab-host run ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${said}`);
  }
  const summary = JSON.parse(r.stdout);
  if (summary.passed !== true)
    throw new CaptureError(`pvlab-host run ${args.join(' ')} did not pass: ${said}`);
  return summary;
}

/**
 * The packages the bundles import at run time (left out of the bundles), each with the range its
 * published manifest gives it: `workspace:^` becomes `^<version>`, as `pnpm pack` writes it.
 */
async function runtimeDependencies(
  /** @type {string[]} */ bundles,
  /** @type {PackageJson} */ host,
  /** @type {string} */ hostDir,
) {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: bundles,
    bundle: true,
    write: false,
    metafile: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    outdir: 'out',
    logLevel: 'silent',
  });
  const names = new Set();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const i of input.imports) {
      if (!i.external || isBuiltin(i.path)) continue;
      names.add(i.path.startsWith('@') ? i.path.split('/').slice(0, 2).join('/') : i.path.split('/')[0]);
    }
  }
  /** @type {Record<string, string>} */
  const deps = {};
  for (const name of [...names].sort()) {
    const spec = host.dependencies?.[name];
    if (spec === undefined)
      throw new CaptureError(`the host bundles import '${name}', not a dependency of ${HOST_PACKAGE}`);
    const ws = /^workspace:([\^~*]?)$/.exec(spec);
    if (!ws) {
      deps[name] = spec;
      continue;
    }
    // The workspace package the host resolves the name to.
    const { version } = readJson(
      createRequire(join(hostDir, 'package.json')).resolve(`${name}/package.json`),
    );
    deps[name] = ws[1] === '*' ? version : `${ws[1]}${version}`;
  }
  return deps;
}

/** Copies the guest image and runs it on every arch with the workspace's host. */
function captureGuest(
  /** @type {ReturnType<typeof workspace>} */ ws,
  /** @type {string} */ dir,
  log = console.log,
) {
  mkdirSync(dir, { recursive: true });
  const image = join(dir, 'guest.mjs');
  copyFileSync(join(ws.guestDir, 'dist/guest.mjs'), image);
  for (const arch of ARCHES) runHost(ws.hostBin, ['--arch', arch, '--vcpus', '2', '--guest', image], dir);
  writeJson(join(dir, 'manifest.json'), {
    name: GUEST_PACKAGE,
    version: ws.guest.version,
    image: 'guest.mjs',
    arches: ARCHES,
    checkedWith: { [HOST_PACKAGE]: ws.host.version },
  });
  log(`guest-emulator@${ws.guest.version}: the image ran on ${ARCHES.join(', ')}`);
}

/** Copies the host's bundles, writes its package.json, then the snapshots its runs write. */
async function captureHost(
  /** @type {ReturnType<typeof workspace>} */ ws,
  /** @type {string} */ dir,
  log = console.log,
) {
  for (const file of HOST_FILES.filter((f) => f.startsWith('dist/'))) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ws.hostDir, file), join(dir, file));
  }
  const bundles = HOST_FILES.filter((f) => f.endsWith('.mjs')).map((f) => join(dir, f));
  writeJson(join(dir, 'package.json'), {
    name: HOST_PACKAGE,
    version: ws.host.version,
    private: true,
    description: `A release fixture of ${HOST_PACKAGE} ${ws.host.version}: its CLI and vCPU worker bundles as published, for pvlab's cross-version tests (fixtures/releases/README.md). Not a package to install.`,
    type: 'module',
    bin: { 'pvlab-host': './dist/cli.mjs' },
    dependencies: await runtimeDependencies(bundles, ws.host, ws.hostDir),
  });
  for (const s of SNAPSHOTS) {
    const snapDir = join(dir, 'snapshots', s.name);
    mkdirSync(snapDir, { recursive: true });
    const args = [...s.args, '--save', 'snapshot.json'];
    const saved = runHost(ws.hostBin, args, snapDir);
    writeJson(join(snapDir, 'manifest.json'), {
      snapshot: 'snapshot.json',
      writtenBy: { [HOST_PACKAGE]: ws.host.version, [GUEST_PACKAGE]: ws.guest.version },
      command: ['pvlab-host', 'run', ...args].join(' '),
      restore: { command: 'pvlab-host run --restore snapshot.json', checks: s.checks, expect: s.expect },
      saved: {
        ...(saved.vmbusEcho ? { vmbusEchoPackets: saved.vmbusEcho.packets } : {}),
        ...(saved.stolenTimeNs ? { stolenTimeNs: saved.stolenTimeNs } : {}),
      },
    });
    log(`host-emulator@${ws.host.version}: snapshot ${s.name} (pvlab-host run ${args.join(' ')})`);
  }
}

const kib = (/** @type {number} */ n) => `${(n / 1024).toFixed(0)} KiB`;

/** Captures what is not captured yet (everything with `force`); returns the directories written. */
export async function captureFixtures(/** @type {CaptureOptions} */ opts) {
  const ws = workspace(opts.root);
  const targets = [
    {
      name: `guest-emulator@${ws.guest.version}`,
      capture: (/** @type {string} */ d) => captureGuest(ws, d, opts.log),
    },
    {
      name: `host-emulator@${ws.host.version}`,
      capture: (/** @type {string} */ d) => captureHost(ws, d, opts.log),
    },
  ].filter((t) => {
    if (!existsSync(join(opts.out, t.name))) return true;
    if (!opts.force) {
      opts.log(`${t.name}: kept as it is (a release fixture is never overwritten)`);
      return false;
    }
    opts.warn(
      `capture-fixtures: warning: --force replaces ${t.name}; a published release's fixture must stay as it was released`,
    );
    return true;
  });
  if (targets.length === 0) return [];
  mkdirSync(opts.out, { recursive: true });
  const staging = mkdtempSync(join(opts.out, '.capture-'));
  try {
    for (const t of targets) await t.capture(join(staging, t.name));
    for (const t of targets) {
      const bytes = directoryBytes(join(staging, t.name));
      opts.log(`${t.name}: ${kib(bytes)} in all`);
      if (bytes > MAX_RELEASE_BYTES) {
        opts.warn(
          `capture-fixtures: warning: ${t.name} is ${kib(bytes)}, over the ${kib(MAX_RELEASE_BYTES)} a release may keep`,
        );
      }
    }
    for (const t of targets) {
      rmSync(join(opts.out, t.name), { recursive: true, force: true });
      renameSync(join(staging, t.name), join(opts.out, t.name));
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return targets.map((t) => join(opts.out, t.name));
}
