/**
 * Which clang and wasm-ld build the guest: `$PVLAB_CLANG`, else `clang-19`/`wasm-ld-19` or a
 * plain `clang` ≥ 17 with the wasm32 target on PATH, else the npm clang (`@yowasp/clang`, clang
 * and wasm-ld compiled to WASI, run inside Node). `PVLAB_CC_TOOLCHAIN=system|npm` forces one.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join } from 'node:path';
import { UsageError } from './args.js';
import { loadNpmClang, NPM_CLANG, NPM_CLANG_VERSION, type NpmClang } from './npm-clang.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface SystemToolchain {
  readonly kind: 'system';
  readonly clang: string;
  readonly wasmLd: string;
  /** Paths and `--version` outputs: part of the cache key. */
  readonly identity: string;
  /** One line for `-v`. */
  readonly describe: string;
}

export interface NpmToolchain {
  readonly kind: 'npm';
  readonly clang: NpmClang;
  readonly identity: string;
  readonly describe: string;
}

export type Toolchain = SystemToolchain | NpmToolchain;

/** The npm clang's loader; tests replace it to act as if it were not installed. */
export type NpmClangLoader = (cwd: string) => Promise<NpmClang | undefined>;

const INSTALL_SYSTEM =
  'install clang-19 and lld-19 (apt-get install -y --no-install-recommends clang-19 lld-19) or set PVLAB_CLANG';
const INSTALL_NPM = `npm install ${NPM_CLANG}@${NPM_CLANG_VERSION}`;
const MIN_CLANG_MAJOR = 17;

/** Picks the toolchain; throws UsageError (one line, exit 2) when none fits. */
export async function findToolchain(
  env: Env,
  cwd: string,
  loadNpm: NpmClangLoader = loadNpmClang,
): Promise<Toolchain> {
  const forced = env.PVLAB_CC_TOOLCHAIN || undefined;
  if (forced !== undefined && forced !== 'system' && forced !== 'npm')
    throw new UsageError(`PVLAB_CC_TOOLCHAIN=${forced} is not a toolchain: use system or npm (or unset it)`);
  if (forced !== 'npm') {
    const system = findSystem(env);
    if (system) return system;
    if (forced === 'system')
      throw new UsageError(
        `PVLAB_CC_TOOLCHAIN=system: no clang with the wasm32 target and wasm-ld on PATH: ${INSTALL_SYSTEM}`,
      );
  }
  const npm = await loadNpm(cwd);
  if (npm) {
    if (npm.version !== NPM_CLANG_VERSION)
      throw new UsageError(
        `${NPM_CLANG} ${npm.version} is installed; pvlab-cc needs exactly ${NPM_CLANG_VERSION}: ${INSTALL_NPM}`,
      );
    return {
      kind: 'npm',
      clang: npm,
      identity: `npm ${NPM_CLANG}@${npm.version} ${npm.path}`,
      describe: `npm clang ${NPM_CLANG}@${npm.version} (${npm.path})`,
    };
  }
  if (forced === 'npm')
    throw new UsageError(`PVLAB_CC_TOOLCHAIN=npm: ${NPM_CLANG} is not installed: ${INSTALL_NPM}`);
  throw new UsageError(`no clang for wasm32 found: ${INSTALL_SYSTEM}, or add the npm clang: ${INSTALL_NPM}`);
}

/** The system toolchain, `$PVLAB_CLANG` first; undefined when PATH has none. */
function findSystem(env: Env): SystemToolchain | undefined {
  const chosen = env.PVLAB_CLANG;
  if (chosen) {
    const clang = isAbsolute(chosen) || chosen.includes('/') ? chosen : which(chosen, env);
    if (!clang || !isExecutable(clang))
      throw new UsageError(`PVLAB_CLANG=${chosen} is not an executable file: give the path to a clang`);
    const version = checkClang(clang, `PVLAB_CLANG=${chosen}`);
    const wasmLd = env.PVLAB_WASM_LD || besideClang(clang);
    if (!wasmLd)
      throw new UsageError(
        `PVLAB_CLANG=${chosen}: no wasm-ld beside it (${dirname(clang)}): set PVLAB_WASM_LD to its path`,
      );
    return system(clang, version, wasmLd);
  }
  if (env.PVLAB_WASM_LD && !isExecutable(env.PVLAB_WASM_LD))
    throw new UsageError(
      `PVLAB_WASM_LD=${env.PVLAB_WASM_LD} is not an executable file: give the path to wasm-ld`,
    );
  for (const [clangName, ldName] of [
    ['clang-19', 'wasm-ld-19'],
    ['clang', 'wasm-ld'],
  ] as const) {
    const clang = which(clangName, env);
    const wasmLd = env.PVLAB_WASM_LD || which(ldName, env);
    if (!clang || !wasmLd) continue;
    const version = probeClang(clang);
    if (version.problem === undefined) return system(clang, version.text, wasmLd);
  }
  return undefined;
}

function system(clang: string, clangVersion: string, wasmLd: string): SystemToolchain {
  if (!isExecutable(wasmLd))
    throw new UsageError(`wasm-ld at ${wasmLd} is not an executable file: set PVLAB_WASM_LD to its path`);
  const ld = spawnSync(wasmLd, ['--version'], { encoding: 'utf8' });
  if (ld.status !== 0)
    throw new UsageError(`${wasmLd} --version fails: set PVLAB_WASM_LD to a working wasm-ld`);
  const first = (s: string) => s.split('\n', 1)[0]!.trim();
  return {
    kind: 'system',
    clang,
    wasmLd,
    identity: `system ${clang}\n${clangVersion}\n${wasmLd}\n${ld.stdout}`,
    describe: `system clang ${clang} (${first(clangVersion)}), wasm-ld ${wasmLd}`,
  };
}

/** `--version` of a clang named by the user, or a UsageError saying why it does not fit. */
function checkClang(clang: string, label: string): string {
  const version = probeClang(clang);
  if (version.problem) throw new UsageError(`${label}: ${version.problem}`);
  return version.text;
}

/** A clang's `--version` text, or why it cannot build guests. */
function probeClang(clang: string): { text: string; problem?: string } {
  const v = spawnSync(clang, ['--version'], { encoding: 'utf8' });
  if (v.status !== 0) return { text: '', problem: `${clang} --version fails` };
  const major = Number(/clang version (\d+)/.exec(v.stdout)?.[1] ?? 0);
  if (major < MIN_CLANG_MAJOR)
    return {
      text: v.stdout,
      problem: `${clang} is clang ${major || '?'}; pvlab-cc needs clang ≥ ${MIN_CLANG_MAJOR}`,
    };
  const targets = spawnSync(clang, ['--print-targets'], { encoding: 'utf8' });
  if (targets.status !== 0 || !/^\s*wasm32\b/m.test(targets.stdout))
    return { text: v.stdout, problem: `${clang} has no wasm32 target (--print-targets)` };
  return { text: v.stdout };
}

/** wasm-ld beside a clang: `wasm-ld-19` next to `clang-19`, or `wasm-ld` there or in its real dir. */
function besideClang(clang: string): string | undefined {
  const suffix = /^clang(-\d+)?$/.exec(basename(clang))?.[1] ?? '';
  const dirs = [dirname(clang)];
  try {
    dirs.push(dirname(realpathSync(clang)));
  } catch {
    // a dangling link was refused above
  }
  for (const dir of dirs)
    for (const name of suffix ? [`wasm-ld${suffix}`, 'wasm-ld'] : ['wasm-ld']) {
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  return undefined;
}

/** The first executable `name` on env.PATH. */
export function which(name: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
