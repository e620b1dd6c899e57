/**
 * Linux's `arch/x86/hyperv/hv_apic.c`, built as `pnpm test:linux` builds it: the tree that
 * tooling/linux-tests resolves (`PVLAB_LINUX_SRC`, or Debian's linux-source tarball, of which only
 * the files the shim names are extracted into a cache), the Linux shim of @pvlab/wasm-guest, and
 * that suite's test driver `guests/hv-apic.c` (its exports `lt_*`), through pvlab-cc. Nothing
 * from the tree enters the repository. No tree: the rows are left out with one line saying why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** tooling/linux-tests, from src/wasm/ and dist/wasm/ alike. */
const LINUX_TESTS = new URL('../../../linux-tests/', import.meta.url);
const TREE_MODULE = new URL('src/tree.mjs', LINUX_TESTS);
const DRIVER = fileURLToPath(new URL('guests/hv-apic.c', LINUX_TESTS));
/** The shim files hv-apic.c links (tooling/linux-tests/src/build.ts SHIM_CORE and its global setup). */
const SHIMS = ['kernel.c', 'boot.c', 'hv_common-shim.c', 'hv_apic-shim.c'];

interface LinuxTree {
  readonly root: string;
  readonly source: string;
  readonly version: string;
  readonly versionCode: number;
  readonly extractDir: string;
}

/** What tooling/linux-tests/src/tree.mjs exports and this module uses. */
interface TreeModule {
  resolveLinuxTree(): LinuxTree | undefined;
  linuxShimFlags(tree: LinuxTree): string[];
  readonly SHIM_DIR: string;
  readonly NO_TREE_LINE: string;
  readonly LinuxTreeError: new (...args: never[]) => Error;
}

export type LinuxBuild = { readonly wasm: string; readonly tree: string } | { readonly skipped: string };

/** Builds the hv-apic driver into `dir` with pvlab-cc at `pvlabCc`, or says why there are no Linux rows. */
export async function buildLinuxHvApic(pvlabCc: string, dir: string): Promise<LinuxBuild> {
  if (!existsSync(TREE_MODULE) || !existsSync(DRIVER))
    return { skipped: `no tooling/linux-tests in this checkout (${fileURLToPath(TREE_MODULE)})` };
  const t = (await import(TREE_MODULE.href)) as TreeModule;
  let tree: LinuxTree | undefined;
  try {
    tree = t.resolveLinuxTree();
  } catch (e) {
    if (e instanceof t.LinuxTreeError) return { skipped: e.message };
    throw e;
  }
  // The suite's line without its "pvlab linux tests skipped: " lead.
  if (tree === undefined) return { skipped: t.NO_TREE_LINE.replace(/^[^:]*skipped: /, '') };
  const wasm = join(dir, 'hv-apic.wasm');
  const args = [
    '-Wall',
    '-Werror',
    ...t.linuxShimFlags(tree),
    ...SHIMS.map((f) => join(t.SHIM_DIR, f)),
    DRIVER,
    '-o',
    wasm,
  ];
  const r = spawnSync(process.execPath, [pvlabCc, ...args], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const said = `${r.stderr}${r.stdout}`.trim().split('\n').slice(0, 3).join(' | ');
    return { skipped: `hv_apic.c from ${tree.source} did not build with the Linux shim: ${said}` };
  }
  return { wasm, tree: `Linux ${tree.version} from ${tree.source}` };
}
