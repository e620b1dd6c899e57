// Resolves the Linux tree once (extracting the files the shim names from Debian's tarball into
// the cache on first use) and builds the suite's wasm guests; the tests get their paths through
// `inject('linux')`. Without a tree the suite skips, and this prints the one line saying why.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildLinuxGuest, type LinuxTree } from '../src/build.mjs';
import { DEFAULT_CACHE_DIR, LinuxTreeError, NO_TREE_LINE, resolveLinuxTree } from '../src/tree.mjs';

export interface LinuxSuite {
  readonly tree: LinuxTree;
  /** Built guests by driver name (guests/<name>.c). */
  readonly guests: Readonly<Record<'hv-apic' | 'get-vtl' | 'cpu-up', string>>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    linux: LinuxSuite | null;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const cacheDir = process.env.PVLAB_LINUX_CACHE ?? DEFAULT_CACHE_DIR;
  let tree: LinuxTree | undefined;
  try {
    tree = resolveLinuxTree({ cacheDir });
  } catch (e) {
    if (!(e instanceof LinuxTreeError)) throw e;
    // The tree the environment names is not usable: one line, as for a bad flag.
    console.error(`pvlab linux tests: ${e.message}`);
    process.exit(2);
  }
  if (tree === undefined) {
    console.log(NO_TREE_LINE);
    project.provide('linux', null);
    return;
  }
  // The threaded test starts real vCPU threads, which run the host's bundled worker: bundle it
  // from the sources first, as the host's own tests do (well under a second).
  const bundler = new URL('../../../apps/host-emulator/build.mjs', import.meta.url).href;
  const host = (await import(bundler)) as { bundle: () => Promise<void> };
  await host.bundle();
  const build = (driver: string, shims: string[]) =>
    buildLinuxGuest(tree, driver, shims, join(cacheDir, 'build'));
  project.provide('linux', {
    tree,
    guests: {
      'hv-apic': build('hv-apic', ['hv_apic-shim.c']),
      'get-vtl': build('get-vtl', ['hv_init-shim.c']),
      'cpu-up': build('cpu-up', ['hv_apic-shim.c']),
    },
  });
}
