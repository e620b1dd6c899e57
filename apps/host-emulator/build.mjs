// Bundles the pvlab-host CLI into one self-contained ESM file (the package's `bin`).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // commander is CommonJS: give the ESM bundle a `require` for its node: built-ins.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __pvlabCreateRequire } from 'node:module';\nconst require = __pvlabCreateRequire(import.meta.url);",
  },
  sourcemap: true,
  logLevel: 'warning',
});
