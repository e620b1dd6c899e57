#!/usr/bin/env node
// Writes sdk/include/pvlab/imports.h from the import table (src/wire/imports.ts), through the
// package's build (dist/): the header is never edited by hand. `--check` only compares.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const USAGE = `usage: node scripts/gen-imports-h.mjs [--check]

Writes sdk/include/pvlab/imports.h from the import table (src/wire/imports.ts), read from the
package's build: run \`pnpm --filter @pvlab/wasm-guest build\` first.

  --check   write nothing; exit 1 when the file differs from what the table generates
  --help    this text`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = args.find((a) => a !== '--check');
if (unknown !== undefined) {
  console.error(`gen-imports-h: unknown argument '${unknown}': accepted are --check and --help`);
  process.exit(2);
}

const pkg = new URL('../', import.meta.url);
let header;
try {
  header = await import(new URL('dist/wire/imports-header.js', pkg).href);
} catch (e) {
  console.error(
    `gen-imports-h: cannot load dist/wire/imports-header.js (${e.message}): build the package first`,
  );
  process.exit(1);
}
const { IMPORTS_HEADER_PATH, renderImportsHeader: render } = header;
const path = fileURLToPath(new URL(IMPORTS_HEADER_PATH, pkg));
const text = render();
let current = null;
try {
  current = readFileSync(path, 'utf8');
} catch {
  // Missing: written below, or a difference under --check.
}
if (args.includes('--check')) {
  if (current !== text) {
    console.error(
      `gen-imports-h: ${IMPORTS_HEADER_PATH} differs from the import table: run node scripts/gen-imports-h.mjs`,
    );
    process.exit(1);
  }
  console.log(`${IMPORTS_HEADER_PATH} matches the import table`);
} else if (current === text) {
  console.log(`${IMPORTS_HEADER_PATH} is up to date`);
} else {
  writeFileSync(path, text);
  console.log(`wrote ${IMPORTS_HEADER_PATH}`);
}
