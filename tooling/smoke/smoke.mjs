// Release smoke test: what a user gets from `npm install`, not what the workspace sees.
//
//  1. pack every public package (packages/* and apps/*) with pnpm, which rewrites
//     `workspace:^` ranges the way `pnpm publish` does;
//  2. check each packed manifest as `pnpm release` does (no `workspace:` left, every range to a
//     workspace package `^<its current version>`: tooling/release/packed.mjs), lint each tarball
//     with publint — any message, even a suggestion, fails — and check its types with attw
//     (`--profile esm-only`: the packages are ESM only, so CommonJS is not asked);
//  3. `npm install` all tarballs together into a fresh project outside the workspace (external
//     dependencies come from the registry), then with plain `node` import every `exports` entry,
//     create a VM, and run each installed bin with `--help`;
//  4. typecheck a strict TypeScript consumer that imports every entry point, with each compiler in
//     CONSUMER_TYPESCRIPT and default settings otherwise (no `types`, no `skipLibCheck`): the
//     published .d.ts files must stand on their own, without @types/node.
//
// Needs the packages built (`dist/`): `pnpm smoke` and `pnpm test` build first.
// Prints one line per check, then `Smoke: N passed, M failed`; exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { checkPackedManifest, packPackages, publicPackages, workspacePackages } from '../release/packed.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
// attw's CLI (a root devDependency, pinned): resolved from its package.json, as it exports no bin path.
const attwPackage = createRequire(import.meta.url).resolve('@arethetypeswrong/cli/package.json');
const attwCli = join(attwPackage, '..', JSON.parse(readFileSync(attwPackage, 'utf8')).bin.attw);
// The compilers a consumer may use, pinned: the last 5.x and the native 7.x. npm aliases let both
// live in one project. TypeScript 7's `types` defaults to [], so a .d.ts naming `NodeJS.*` fails there.
const CONSUMER_TYPESCRIPT = { 'typescript-5.9': 'typescript@5.9.3', 'typescript-7.0': 'typescript@7.0.2' };

// https://no-color.org: set and non-empty disables colour.
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[39m` : s);

let passed = 0;
let failed = 0;

/** Records one check and prints its line, with any details indented below it. */
function report(ok, label, details = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? paint(32, 'ok  ') : paint(31, 'FAIL')} ${label}`);
  const text = details.trim();
  if (text) console.log(text.replace(/^/gm, '       '));
}

/** Runs a command to completion; `ok` is exit code 0, `output` is stdout + stderr. */
function run(command, args, { cwd, env = process.env, timeoutMs }) {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) return { ok: false, stdout: '', output: `${r.error.message}\n${output}` };
  const ok = r.status === 0;
  return { ok, stdout: r.stdout, output: ok ? output : `exit ${r.status ?? r.signal}\n${output}` };
}

// The consumer project must not inherit the workspace. pnpm and npx export npm_config_* to
// scripts and npm reads them as its own config: npm_config_local_prefix alone would make
// `npm install` write into the workspace. Keep only the registry (a CI mirror stays in use).
// NODE_OPTIONS goes too: it could add `--conditions=@pvlab/source` and resolve to src/*.ts.
const consumerEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => (!/^npm_/i.test(k) || k.toLowerCase() === 'npm_config_registry') && k !== 'NODE_OPTIONS',
  ),
);

/** The import specifiers a package's `exports` map offers (`./package.json` and patterns skipped). */
function entryPoints(pkg) {
  const { exports } = pkg;
  // No exports, a string, or a conditions object: the package root is the one entry point.
  if (exports === undefined || typeof exports === 'string' || Array.isArray(exports)) return [pkg.name];
  const keys = Object.keys(exports);
  if (!keys.some((k) => k.startsWith('.'))) return [pkg.name];
  return keys
    .filter((k) => k !== './package.json' && !k.includes('*'))
    .map((k) => (k === '.' ? pkg.name : `${pkg.name}${k.slice(1)}`));
}

/** Runs an ES module snippet with plain `node` inside the consumer project. */
function nodeEval(project, code, ...args) {
  return run(process.execPath, ['--input-type=module', '-e', code, ...args], {
    cwd: project,
    env: consumerEnv,
    timeoutMs: 30_000,
  });
}

async function smoke(tmp) {
  const packs = join(tmp, 'packs');
  const project = join(tmp, 'consumer');
  mkdirSync(packs);
  mkdirSync(project);

  // 1. Pack.
  const workspace = workspacePackages();
  const expected = publicPackages().map((pkg) => pkg.manifest.name);
  const pack = packPackages(publicPackages(), packs);
  const { tarballs } = pack;
  const packed = pack.ok && tarballs.length === expected.length;
  report(
    packed,
    `pack ${tarballs.length} of ${expected.length} packages`,
    pack.ok ? (packed ? '' : `expected: ${expected.join(', ')}`) : pack.output,
  );
  if (!packed) return;

  // 2. Check each packed manifest, publint and attw each tarball. publint's `pkg` is the packed
  //    package.json, as a consumer sees it.
  const manifests = [];
  for (const tarball of tarballs) {
    const bytes = readFileSync(tarball);
    const tarballBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const { messages, pkg } = await publint({ pack: { tarball: tarballBuffer }, level: 'suggestion' });
    const problems = checkPackedManifest(pkg, workspace);
    report(
      problems.length === 0,
      `packed manifest ${pkg.name}@${pkg.version}: no workspace: left, ranges between packages real`,
      problems.join('\n'),
    );
    const details = messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`).join('\n');
    report(messages.length === 0, `publint ${pkg.name}`, details);
    manifests.push(pkg);
    const attw = run(process.execPath, [attwCli, '--profile', 'esm-only', '--no-color', tarball], {
      cwd: root,
      timeoutMs: 60_000,
    });
    report(attw.ok, `attw --profile esm-only ${pkg.name}`, attw.ok ? '' : attw.output);
  }

  // 3. Install all tarballs together, as a user of the published packages would.
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'pvlab-smoke-consumer', private: true, type: 'module' }, null, 2)}\n`,
  );
  const install = run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      '--no-update-notifier',
      ...tarballs,
      NPM_CLANG,
    ],
    { cwd: project, env: consumerEnv, timeoutMs: 90_000 },
  );
  report(install.ok, 'npm install of all tarballs in a fresh project', install.ok ? '' : install.output);
  if (!install.ok) return;

  // Inter-package dependencies (`^<version>` after packing) must be satisfied by the tarballs; a
  // @pvlab package fetched from the registry instead would test someone else's code.
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
  const foreign = Object.entries(lock.packages)
    .filter(([path, entry]) => /node_modules\/@pvlab\//.test(path) && !entry.resolved?.startsWith('file:'))
    .map(([path]) => path);
  report(foreign.length === 0, 'every @pvlab package resolved to a local tarball', foreign.join('\n'));

  // 4. Import every entry point with plain node.
  // The count is informational: packages reserved for later issues export nothing yet.
  const importCode = 'const ns = await import(process.argv[1]); console.log(Object.keys(ns).length);';
  for (const pkg of manifests) {
    for (const spec of entryPoints(pkg)) {
      const r = nodeEval(project, importCode, spec);
      report(r.ok, `import ${spec}${r.ok ? ` (${r.stdout.trim()} exports)` : ''}`, r.ok ? '' : r.output);
    }
  }

  // 5. createVm builds a VM that answers the Hyper-V vendor CPUID leaf.
  const vmCode = `
    import { createVm, Vm } from '@pvlab/host-emulator';
    const vm = createVm({ vcpus: 2 });
    if (!(vm instanceof Vm)) throw new Error('createVm did not return a Vm');
    if (vm.vcpus !== 2) throw new Error('asked for 2 vCPUs, got ' + vm.vcpus);
    const { ebx, ecx, edx } = vm.cpuid(0x40000000);
    const vendor = Buffer.from(new Uint32Array([ebx, ecx, edx]).buffer).toString('latin1');
    if (vendor !== 'Microsoft Hv') throw new Error('CPUID 0x40000000 vendor is ' + JSON.stringify(vendor));
    vm.close();
  `;
  const vm = nodeEval(project, vmCode);
  report(
    vm.ok,
    "createVm({ vcpus: 2 }) from '@pvlab/host-emulator' boots a 'Microsoft Hv' VM",
    vm.ok ? '' : vm.output,
  );

  // 6. Every installed bin runs and prints usage. Run the .bin link itself so the shebang and
  //    the executable bit are exercised too.
  for (const pkg of manifests) {
    const bins = typeof pkg.bin === 'string' ? [pkg.name.split('/').pop()] : Object.keys(pkg.bin ?? {});
    for (const bin of bins) {
      const r = run(join(project, 'node_modules', '.bin', bin), ['--help'], {
        cwd: project,
        env: consumerEnv,
        timeoutMs: 30_000,
      });
      const usage = /usage:/i.test(r.stdout);
      report(
        r.ok && usage,
        `${bin} --help (${pkg.name})`,
        r.ok && !usage ? `no usage text:\n${r.output}` : r.ok ? '' : r.output,
      );
    }
  }

  // 7. A strict TypeScript consumer that imports every entry point typechecks.
  typecheckConsumer(project, manifests.flatMap(entryPoints));

  // 8. The root README's C guest: built by the installed pvlab-cc, run by the installed pvlab-host.
  cGuest(project);
}

/**
 * The clang the root README installs beside the packages, so that `pvlab-cc` works with npm
 * alone (the version @pvlab/wasm-guest pins).
 */
const NPM_CLANG = `@yowasp/clang@${JSON.parse(readFileSync(join(root, 'packages/wasm-guest/package.json'), 'utf8')).devDependencies['@yowasp/clang']}`;

/** The README's `guest.c`, built with `pvlab-cc` and run on 4 vCPUs with a seed and a trace. */
function cGuest(project) {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Write a guest in C'));
  const source = /```c\n([\s\S]*?)```/.exec(section)?.[1];
  if (source === undefined)
    return report(false, "the README's C guest", 'no ```c block under "Write a guest in C"');
  writeFileSync(join(project, 'guest.c'), source);
  const bin = (name) => join(project, 'node_modules', '.bin', name);
  // With the npm clang, as on a machine with only Node.js and npm (CI has a system clang too).
  const cc = run(bin('pvlab-cc'), ['--no-cache', '-O2', '-o', 'guest.wasm', 'guest.c'], {
    cwd: project,
    env: { ...consumerEnv, PVLAB_CC_TOOLCHAIN: 'npm' },
    timeoutMs: 300_000,
  });
  report(cc.ok, "pvlab-cc builds the README's guest.c with the npm clang", cc.ok ? '' : cc.output);
  if (!cc.ok) return;
  const host = run(
    bin('pvlab-host'),
    ['run', '--guest', 'guest.wasm', '--vcpus', '4', '--seed', '1', '--trace', 't.json'],
    {
      cwd: project,
      env: consumerEnv,
      timeoutMs: 120_000,
    },
  );
  const logged = (host.stdout.match(/^vCPU \d of 4: status 0$/gm) ?? []).length;
  report(
    host.ok && logged === 4 && existsSync(join(project, 't.json')),
    'pvlab-host runs it on 4 vCPUs with a seed and a trace (4 log lines, status 0)',
    host.ok && logged !== 4
      ? `expected 4 'vCPU n of 4: status 0' lines:\n${host.output}`
      : host.ok
        ? ''
        : host.output,
  );
}

/** Writes a strict nodenext TypeScript project importing `specs`, and runs each pinned `tsc` on it. */
function typecheckConsumer(project, specs) {
  const aliases = Object.entries(CONSUMER_TYPESCRIPT).map(([alias, spec]) => `${alias}@npm:${spec}`);
  const install = run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      '--no-update-notifier',
      '--save-dev',
      ...aliases,
    ],
    { cwd: project, env: consumerEnv, timeoutMs: 180_000 },
  );
  report(
    install.ok,
    `npm install ${Object.values(CONSUMER_TYPESCRIPT).join(', ')}`,
    install.ok ? '' : install.output,
  );
  if (!install.ok) return;

  // Only what the issue calls default settings, plus strict: no `types`, `lib` or `skipLibCheck`.
  const tsconfig = {
    compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', noEmit: true },
    include: ['consumer.ts'],
  };
  writeFileSync(join(project, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  const imports = specs.map((spec, i) => `import * as m${i} from '${spec}';`);
  // Using the API too: createVm's options and result types must resolve, not only the modules.
  const body = `
    import { createVm } from '@pvlab/host-emulator';
    const vm = createVm({ vcpus: 2 });
    const vendor: number = vm.cpuid(0x40000000).ebx;
    vm.close();
    export const modules = [${specs.map((_, i) => `m${i}`).join(', ')}] as const;
    export { vendor };
  `;
  writeFileSync(join(project, 'consumer.ts'), `${imports.join('\n')}\n${body}`);
  for (const [alias, spec] of Object.entries(CONSUMER_TYPESCRIPT)) {
    const tsc = join(project, 'node_modules', alias, 'bin', 'tsc');
    const r = run(process.execPath, [tsc, '-p', 'tsconfig.json'], {
      cwd: project,
      env: consumerEnv,
      timeoutMs: 120_000,
    });
    report(
      r.ok,
      `tsc ${spec.split('@')[1]}: a strict nodenext consumer of ${specs.length} entry points typechecks`,
      r.ok ? '' : r.output,
    );
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'pvlab-smoke-'));
try {
  // Inside the workspace, node would find the workspace's node_modules by walking up.
  if (!relative(root, tmp).startsWith('..')) throw new Error(`temp dir ${tmp} is inside the workspace`);
  await smoke(tmp);
} catch (e) {
  report(false, 'smoke script error', e instanceof Error ? (e.stack ?? e.message) : String(e));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`Smoke: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
