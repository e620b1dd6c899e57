#!/usr/bin/env node
// The pvlab-cc bin. The driver is dist/cc/main.js, a build output; this committed file gives the
// bin a target when a workspace install links it (before anything is built) and says what to do
// when the build is missing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cc/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    `pvlab-cc: ${fileURLToPath(main)} is not built: run \`npx -y pnpm@10.34.9 build\` in the pvlab repository\n`,
  );
  process.exit(1);
}
const { pvlabCc } = await import(main.href);
process.exitCode = await pvlabCc(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  color: process.stderr.isTTY === true && !process.env.NO_COLOR,
});
