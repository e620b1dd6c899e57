/**
 * Builds wasm guests from the Linux shim, the tree's files and a test driver (guests/*.c) with
 * pvlab-cc: it adds the SDK and pins the ABI's flags; the shim adds the kernel's code-generation
 * flags and its include path (`linuxShimFlags`). pvlab-cc's cache (kept beside the tree's)
 * makes an unchanged build a copy. Plain JavaScript, so the benchmark (`tooling/bench`, built
 * with tsc) builds its Linux guest with this module too.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linuxShimFlags, REPO_ROOT, SHIM_DIR } from './tree.mjs';

/**
 * @typedef {{ readonly root: string, readonly source: string, readonly version: string,
 *   readonly versionCode: number, readonly files: readonly string[], readonly extractDir: string }} LinuxTree
 */

export const GUESTS_DIR = fileURLToPath(new URL('../guests/', import.meta.url));
const PVLAB_CC = join(REPO_ROOT, 'packages/wasm-guest/bin/pvlab-cc.mjs');

/** The shim files every Linux guest links: kernel infrastructure, boot, hv_common_cpu_init. */
export const SHIM_CORE = ['kernel.c', 'boot.c', 'hv_common-shim.c'];

/**
 * Runs pvlab-cc with `args` (the one place that runs the compiler).
 * @param {readonly string[]} args
 * @param {string} cacheDir
 */
function pvlabCc(args, cacheDir) {
  const r = spawnSync(process.execPath, [PVLAB_CC, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PVLAB_CC_CACHE: process.env.PVLAB_CC_CACHE ?? join(cacheDir, 'pvlab-cc') },
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`pvlab-cc could not build a Linux guest:\n${r.stderr}${r.stdout}`);
}

/**
 * Builds `guests/<driver>.c` with the shim's core, the shim files `shims` and the tree into
 * `<cacheDir>/wasm/<driver>.wasm`; returns that path.
 * @param {LinuxTree} tree
 * @param {string} driver
 * @param {readonly string[]} shims
 * @param {string} cacheDir
 * @returns {string}
 */
export function buildLinuxGuest(tree, driver, shims, cacheDir) {
  const out = join(cacheDir, 'wasm', `${driver}.wasm`);
  mkdirSync(join(cacheDir, 'wasm'), { recursive: true });
  pvlabCc(
    [
      '-Wall',
      '-Werror',
      ...linuxShimFlags(tree),
      ...[...SHIM_CORE, ...shims].map((f) => join(SHIM_DIR, f)),
      join(GUESTS_DIR, `${driver}.c`),
      '-o',
      out,
    ],
    cacheDir,
  );
  return out;
}
