#!/usr/bin/env node
// `pnpm fixtures:capture`: writes the release fixtures of the built workspace into
// fixtures/releases/ (see --help and fixtures/releases/README.md). Exits 0 when done or when
// everything was already captured, 1 when a capture fails (nothing is left half-written), 2 on a
// bad flag.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CaptureError, captureFixtures } from './src/capture.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_OUT = resolve(root, 'fixtures/releases');

const HELP = `Usage: pnpm fixtures:capture [--out <dir>] [--force]

Captures the release fixtures of the built workspace (run it right after \`changeset version\`
and a build, and commit what it writes):

  <out>/host-emulator@<version>/     package.json, dist/cli.mjs, dist/vcpu.mjs (the published
                                     bundles, without source maps), and snapshots/<name>/
                                     (snapshot.json and manifest.json) written by
                                     \`pvlab-host run --save\`: x64-vmbus, arm64-stolen-time
  <out>/guest-emulator@<version>/    guest.mjs (the image) and manifest.json

A release that already has its directory is kept as it is: a released fixture is never
overwritten.

Options:
  --out <dir>  where to write (default: fixtures/releases; the cross-version tests read
               PVLAB_FIXTURES_DIR, with the same default)
  --force      replace the directories of the current versions (only for a version that is
               not released yet; prints a warning)
  -h, --help   print this help
`;

const OPTIONS = /** @type {const} */ ({
  out: { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
});

/** One line naming the bad input and what is accepted. */
function usageError(/** @type {unknown} */ e) {
  const code = /** @type {{ code?: string }} */ (e).code;
  const message = e instanceof Error ? e.message : String(e);
  const option = /'(-[^']*)'/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return `unknown option '${option.replace(/^(--?[^=\s]*).*$/, '$1')}': accepted: --out <dir>, --force, --help`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return `unexpected argument '${/'([^']*)'/.exec(message)?.[1] ?? ''}': the script takes only --out <dir>, --force, --help`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const name = option.split(', ').at(-1)?.split(' ')[0];
    return /missing/.test(message) ? `${name}: give a directory (${name} <dir>)` : `${name} takes no value`;
  }
  return message.split('\n')[0];
}

let values;
try {
  ({ values } = parseArgs({ args: process.argv.slice(2), options: OPTIONS, strict: true }));
} catch (e) {
  process.stderr.write(`capture-fixtures: ${usageError(e)}\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (values.out !== undefined && values.out.trim() === '') {
  process.stderr.write("capture-fixtures: --out '': give a directory\n");
  process.exit(2);
}

// pnpm runs root scripts from the root; a relative --out is relative to where the user is.
const fromPnpm = process.env.npm_lifecycle_event === 'fixtures:capture';
const out = resolve(
  fromPnpm ? (process.env.INIT_CWD ?? process.cwd()) : process.cwd(),
  values.out ?? DEFAULT_OUT,
);
if (existsSync(out) && !statSync(out).isDirectory()) {
  process.stderr.write(`capture-fixtures: --out '${values.out ?? DEFAULT_OUT}': not a directory\n`);
  process.exit(2);
}
try {
  const written = await captureFixtures({
    root,
    out,
    force: values.force === true,
    log: (line) => process.stdout.write(`${line}\n`),
    warn: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(written.length === 0 ? 'nothing to capture\n' : `wrote ${written.join(', ')}\n`);
} catch (e) {
  // A capture error, or a file system error (a full disk, an --out that is a file): one line.
  const fsError = e instanceof Error && 'code' in e && 'syscall' in e;
  if (!(e instanceof CaptureError) && !fsError) throw e;
  process.stderr.write(`capture-fixtures: ${/** @type {Error} */ (e).message}\n`);
  process.exit(1);
}
