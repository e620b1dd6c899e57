#!/usr/bin/env node
// The pvlab-host bin. The CLI is dist/cli.mjs, a build output; this committed file gives the bin
// a target when a workspace install links it (before anything is built, so pnpm has no missing
// file to warn about) and says what to do when the build is missing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.mjs', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    `pvlab-host: ${fileURLToPath(cli)} is not built: run \`npx -y pnpm@10.34.9 build\` in the pvlab repository\n`,
  );
  process.exit(1);
}
await import(cli.href);
