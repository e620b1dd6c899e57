// Finds the Linux source tree the suite compiles from and makes the files the shim names
// available: a directory (PVLAB_LINUX_SRC) is used in place; Debian's linux-source tarball gets
// just those files extracted into a cache outside the repository (the whole tree takes minutes).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFunction } from './extract-function.mjs';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SHIM_DIR = join(REPO_ROOT, 'packages/wasm-guest/sdk/linux-shim');
export const DEBIAN_TARBALL = '/usr/src/linux-source-6.12.tar.xz';
export const SDK_INCLUDE = join(REPO_ROOT, 'packages/wasm-guest/sdk/include');
export const DEFAULT_CACHE_DIR = join(REPO_ROOT, 'node_modules/.cache/pvlab-linux');
/** The one line the suite prints when it skips. */
export const NO_TREE_LINE =
  'pvlab linux tests skipped: no Linux source tree (set PVLAB_LINUX_SRC to a kernel source directory, or `apt-get install linux-source-6.12` for /usr/src/linux-source-6.12.tar.xz)';

/** A user-facing error with one line (the tree named by the environment is not usable). */
export class LinuxTreeError extends Error {
  /** @override */
  name = 'LinuxTreeError';
}

// An include of a tree path (`#include <arch/x86/hyperv/hv_apic.c>`) and of a function extracted
// from one (`#include <pvlab-extract/drivers/hv/hv_common.c/hv_common_cpu_init>`).
const TREE_INCLUDE = /^\s*#\s*include\s*<((?:arch|include|drivers|kernel|lib|mm|virt)\/[^>]+)>/gm;
const EXTRACT_INCLUDE = /^\s*#\s*include\s*<pvlab-extract\/([^>]+)\/(\w+)>/gm;

/**
 * Every file under `dir` whose name ends with one of `exts`.
 * @param {string} dir
 * @param {string[]} exts
 * @returns {string[]}
 */
function walk(dir, exts) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return walk(path, exts);
    return exts.some((x) => e.name.endsWith(x)) ? [path] : [];
  });
}

/**
 * What the shim takes from the tree: the files it includes by tree path and the functions it
 * extracts, each with the shim file that names it.
 * @param {string} [shimDir]
 */
export function shimTreeReferences(shimDir = SHIM_DIR) {
  /** @type {Map<string, string>} */
  const files = new Map();
  /** @type {{ path: string, fn: string, from: string }[]} */
  const extracts = [];
  for (const file of walk(shimDir, ['.c', '.h'])) {
    const text = readFileSync(file, 'utf8');
    const from = relative(shimDir, file);
    for (const [, path = ''] of text.matchAll(TREE_INCLUDE)) if (!files.has(path)) files.set(path, from);
    for (const [, path = '', fn = ''] of text.matchAll(EXTRACT_INCLUDE)) {
      extracts.push({ path, fn, from });
      if (!files.has(path)) files.set(path, from);
    }
  }
  return { files, extracts };
}

/**
 * `{ version: '6.12.118', code }` from the tree's top Makefile (`code` as LINUX_VERSION_CODE).
 * @param {string} root
 */
export function treeVersion(root) {
  const make = readFileSync(join(root, 'Makefile'), 'utf8');
  const field = (/** @type {string} */ name) =>
    Number(new RegExp(`^${name}\\s*=\\s*(\\d+)`, 'm').exec(make)?.[1] ?? 0);
  const [a, b, c] = [field('VERSION'), field('PATCHLEVEL'), field('SUBLEVEL')];
  return { version: `${a}.${b}.${c}`, code: (a << 16) + (b << 8) + Math.min(c, 255) };
}

/**
 * Extracts `paths` (tree-relative) from `tarball` into a fresh directory `dest`, atomically.
 * @param {string} tarball
 * @param {string[]} paths
 * @param {string} dest
 */
function extractFromTarball(tarball, paths, dest) {
  const tmp = `${dest}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  // Debian's tarball has one top directory (linux-source-6.12/): match it with one `*`.
  const r = spawnSync(
    'tar',
    [
      '-xJf',
      tarball,
      '-C',
      tmp,
      '--strip-components=1',
      '--wildcards',
      '--no-wildcards-match-slash',
      ...paths.map((p) => `*/${p}`),
    ],
    { encoding: 'utf8' },
  );
  if (r.error || r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    const missing = [...(r.stderr ?? '').matchAll(/\*\/(\S+): Not found in archive/g)].map((m) => m[1]);
    throw new LinuxTreeError(
      missing.length > 0
        ? `${tarball} has no ${missing.join(', ')}: the Linux shim needs them`
        : `cannot extract from ${tarball}: ${(r.error?.message ?? r.stderr).trim().split('\n')[0]}`,
    );
  }
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
}

/**
 * What Linux's own Makefile compiles kernel code with and the code relies on (type punning
 * through `unsigned long *`, wrapping arithmetic, null checks kept), and the two clang warnings
 * the kernel turns off for the Hyper-V headers.
 */
export const LINUX_CFLAGS = [
  '-fno-strict-aliasing',
  '-fwrapv',
  '-fno-delete-null-pointer-checks',
  '-Wno-address-of-packed-member',
  '-Wno-gnu-variable-sized-type-not-at-end',
];

/**
 * The clang flags that compile the shim against `tree`, after the SDK's own include directory:
 * the kernel's flags, the tree's version, and the include path (the shim's stand-ins first; the
 * tree's root, so only the files the shim names by path are reached; the extracted functions).
 * @param {{ root: string, versionCode: number, extractDir: string }} tree
 */
export function linuxShimFlags(tree) {
  return [
    ...LINUX_CFLAGS,
    `-DPVLAB_LINUX_VERSION_CODE=${tree.versionCode}`,
    `-I${join(SHIM_DIR, 'include')}`,
    `-I${tree.root}`,
    `-I${tree.extractDir}`,
  ];
}

/**
 * The tree to compile from, or `undefined` when there is none (the suite skips). Throws
 * LinuxTreeError when PVLAB_LINUX_SRC names something unusable or the tree lacks a file.
 * PVLAB_LINUX_TARBALL replaces Debian's tarball path; PVLAB_LINUX_CACHE the cache directory.
 * @param {{ env?: NodeJS.ProcessEnv, tarball?: string, cacheDir?: string, shimDir?: string }} [options]
 * @returns {{ root: string, source: string, version: string, versionCode: number, files: string[], extractDir: string } | undefined}
 */
export function resolveLinuxTree(options = {}) {
  const env = options.env ?? process.env;
  const tarball = options.tarball ?? env.PVLAB_LINUX_TARBALL ?? DEBIAN_TARBALL;
  const cacheDir = options.cacheDir ?? env.PVLAB_LINUX_CACHE ?? DEFAULT_CACHE_DIR;
  const { files, extracts } = shimTreeReferences(options.shimDir);
  const needed = ['Makefile', ...[...files.keys()].sort()];

  /** @type {string} */
  let root;
  /** @type {string} */
  let source;
  /** @type {string} */
  let key;
  if (env.PVLAB_LINUX_SRC) {
    source = resolve(env.PVLAB_LINUX_SRC);
    if (!existsSync(source) || !statSync(source).isDirectory())
      throw new LinuxTreeError(
        `PVLAB_LINUX_SRC=${env.PVLAB_LINUX_SRC}: not a directory; set it to a Linux source tree`,
      );
    const missing = needed.filter((p) => !existsSync(join(source, p)));
    if (missing.length > 0)
      throw new LinuxTreeError(
        `PVLAB_LINUX_SRC=${env.PVLAB_LINUX_SRC} has no ${missing.join(', ')}: is it a Linux source tree?`,
      );
    root = source;
    key = `dir-${hash(source)}`;
  } else if (existsSync(tarball)) {
    source = tarball;
    const st = statSync(tarball);
    key = `tar-${hash(`${tarball}:${st.size}:${st.mtimeMs}`)}`;
    root = join(cacheDir, key, `tree-${hash(needed.join('\n'))}`);
    if (!existsSync(join(root, 'Makefile'))) extractFromTarball(tarball, needed, root);
  } else {
    return undefined;
  }

  const extractDir = join(cacheDir, key, 'extract');
  for (const { path, fn, from } of extracts) {
    const text = readFileSync(join(root, path), 'utf8');
    const found = extractFunction(text, fn);
    if (found === undefined)
      throw new LinuxTreeError(`${path} in ${source} defines no ${fn}() (${from} extracts it)`);
    const out = join(extractDir, 'pvlab-extract', path, fn);
    mkdirSync(dirname(out), { recursive: true });
    // #line keeps compiler messages and the wasm name section pointing at the tree's file.
    writeFileSync(out, `#line ${found.line} "${join(root, path)}"\n${found.text}\n`);
  }
  return { root, source, ...versionOf(root), files: needed, extractDir };
}

/** @param {string} root */
function versionOf(root) {
  const { version, code } = treeVersion(root);
  return { version, versionCode: code };
}

/** @param {string} s */
function hash(s) {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}
