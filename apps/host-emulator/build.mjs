// Bundles the pvlab-host CLI (the package's `bin`) and the vCPU worker into self-contained ESM
// files in dist/. Sibling packages are bundled from their sources (the `@pvlab/source` condition).
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

// commander is CommonJS: give the ESM bundles a `require` for its node: built-ins.
const requireShim =
  "import { createRequire as __pvlabCreateRequire } from 'node:module';\nconst require = __pvlabCreateRequire(import.meta.url);";

/** Builds dist/cli.mjs and dist/vcpu.mjs. */
export async function bundle() {
  const common = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@pvlab/source'],
    sourcemap: true,
    logLevel: 'warning',
  };
  await Promise.all([
    build({
      ...common,
      entryPoints: [here('./src/cli.ts')],
      outfile: here('./dist/cli.mjs'),
      banner: { js: `#!/usr/bin/env node\n${requireShim}` },
      // The guest-emulator finds its image beside its own module: keep it a runtime import.
      external: ['@pvlab/guest-emulator', 'esbuild'],
    }),
    build({
      ...common,
      entryPoints: [here('./src/threaded/vcpu-worker.ts')],
      outfile: here('./dist/vcpu.mjs'),
      banner: { js: requireShim },
    }),
  ]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle();
