/**
 * Linux's `arch/x86/hyperv/hv_apic.c`, built as `pnpm test:linux` builds it: the tree that
 * tooling/linux-tests resolves (`PVLAB_LINUX_SRC`, or Debian's linux-source tarball, of which only
 * the files the shim names are extracted into a cache), the Linux shim of @pvlab/wasm-guest, and
 * that suite's test driver `guests/hv-apic.c` (its exports `lt_*`), through pvlab-cc — by that
 * suite's own build module, into its cache. Nothing from the tree enters the repository. No
 * tree: the rows are left out with one line saying why.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** tooling/linux-tests, from src/wasm/ and dist/wasm/ alike. */
const LINUX_TESTS = new URL('../../../linux-tests/', import.meta.url);
const TREE_MODULE = new URL('src/tree.mjs', LINUX_TESTS);
const BUILD_MODULE = new URL('src/build.mjs', LINUX_TESTS);

interface LinuxTree {
  readonly root: string;
  readonly source: string;
  readonly version: string;
  readonly versionCode: number;
  readonly files: readonly string[];
  readonly extractDir: string;
}

/** What tooling/linux-tests/src/tree.mjs exports and this module uses. */
interface TreeModule {
  resolveLinuxTree(options: { readonly cacheDir: string }): LinuxTree | undefined;
  readonly DEFAULT_CACHE_DIR: string;
  readonly NO_TREE_LINE: string;
  readonly LinuxTreeError: new (...args: never[]) => Error;
}

/** What tooling/linux-tests/src/build.mjs exports and this module uses. */
interface BuildModule {
  buildLinuxGuest(tree: LinuxTree, driver: string, shims: readonly string[], cacheDir: string): string;
}

export type LinuxBuild = { readonly wasm: string; readonly tree: string } | { readonly skipped: string };

/**
 * Builds the hv-apic driver as `pnpm test:linux` does (its build module, into its cache), or
 * says why there are no Linux rows.
 */
export async function buildLinuxHvApic(): Promise<LinuxBuild> {
  if (!existsSync(TREE_MODULE) || !existsSync(BUILD_MODULE))
    return { skipped: `no tooling/linux-tests in this checkout (${fileURLToPath(TREE_MODULE)})` };
  const t = (await import(TREE_MODULE.href)) as TreeModule;
  const b = (await import(BUILD_MODULE.href)) as BuildModule;
  const cache = process.env.PVLAB_LINUX_CACHE ?? t.DEFAULT_CACHE_DIR;
  let tree: LinuxTree | undefined;
  try {
    tree = t.resolveLinuxTree({ cacheDir: cache });
  } catch (e) {
    if (e instanceof t.LinuxTreeError) return { skipped: e.message };
    throw e;
  }
  // The suite's line without its "pvlab linux tests skipped: " lead.
  if (tree === undefined) return { skipped: t.NO_TREE_LINE.replace(/^[^:]*skipped: /, '') };
  try {
    const wasm = b.buildLinuxGuest(tree, 'hv-apic', ['hv_apic-shim.c'], join(cache, 'build'));
    return { wasm, tree: `Linux ${tree.version} from ${tree.source}` };
  } catch (e) {
    const said = (e instanceof Error ? e.message : String(e)).trim().split('\n').slice(1, 4).join(' | ');
    return { skipped: `hv_apic.c from ${tree.source} did not build with the Linux shim: ${said}` };
  }
}
