// Bundles the guest image: one self-contained ESM module (dist/guest.mjs) whose default export
// runs the guest kernel on a vCPU. Sibling packages are bundled from their sources.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

/** Builds dist/guest.mjs. */
export async function bundle() {
  await build({
    entryPoints: [here('./src/image.ts')],
    outfile: here('./dist/guest.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@pvlab/source'],
    sourcemap: true,
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bundle();
