/**
 * The C SDK every guest is built with: `sdk/include` (on the include path) and every
 * `sdk/src/*.c` (compiled and linked into the guest). `$PVLAB_CC_SDK` names another SDK
 * directory with the same layout.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './args.js';

export interface Sdk {
  readonly root: string;
  readonly include: string;
  /** sdk/src/*.c, sorted by name. */
  readonly sources: readonly string[];
}

/** This package's root: src/cc/ and dist/cc/ are both two levels below it. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The SDK at `$PVLAB_CC_SDK` (a UsageError when it has no include directory) or in this package
 * (an Error: the install is broken).
 */
export function findSdk(override: string | undefined, cwd: string): Sdk {
  const root = override ? resolve(cwd, override) : join(PACKAGE_ROOT, 'sdk');
  const include = join(root, 'include');
  if (!isDir(include)) {
    if (override) throw new UsageError(`PVLAB_CC_SDK=${override}: no include directory at ${include}`);
    throw new Error(`the SDK is missing (${include}): reinstall @pvlab/wasm-guest`);
  }
  const src = join(root, 'src');
  const sources = isDir(src)
    ? readdirSync(src)
        .filter((f) => f.endsWith('.c'))
        .sort()
        .map((f) => join(src, f))
    : [];
  return { root, include, sources };
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
