/**
 * Builds the C test guests (test/guests/*.c) with clang-19 and exactly the flags pvlab-cc pins
 * (src/cc/flags.ts), into a temp dir, cached by the sources' content. Tests that need it skip
 * with `CLANG_MISSING` as their reason when clang-19 or wasm-ld-19 is not installed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMPILE_DEFAULTS, COMPILE_PINNED, LINK_PINNED, TARGET } from '../../src/cc/flags.ts';

const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
const SDK_INCLUDE = join(PACKAGE, 'sdk/include');
const SDK_SOURCES = readdirSync(join(PACKAGE, 'sdk/src'))
  .filter((f) => f.endsWith('.c'))
  .sort()
  .map((f) => join(PACKAGE, 'sdk/src', f));
export const GUESTS = join(PACKAGE, 'test/guests');

function which(command: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const CLANG = process.env.PVLAB_CLANG ?? which('clang-19');
const WASM_LD = which('wasm-ld-19') ?? which('wasm-ld');

/** Why the C tests skip, or `undefined` when they run. */
export const CLANG_MISSING: string | undefined =
  CLANG === undefined
    ? 'clang-19 is not installed (apt-get install clang-19 lld-19): the C guest tests are skipped'
    : WASM_LD === undefined
      ? 'wasm-ld-19 is not installed (apt-get install lld-19): the C guest tests are skipped'
      : undefined;

/** pvlab-cc's pinned flags (src/cc/flags.ts), in the clang driver's spelling. */
export const CFLAGS = [TARGET, ...COMPILE_DEFAULTS, ...COMPILE_PINNED];
export const LDFLAGS = LINK_PINNED.map((f) => `-Wl,${f}`);

const CACHE = join(tmpdir(), 'pvlab-wasm-guest-tests');

/**
 * Compiles test/guests/`name`.c (or C text given as `source`) with the SDK; `extra` flags go
 * last. Returns the module's bytes; a compile error throws with clang's output.
 */
export function compileGuest(
  name: string,
  options: { source?: string; extra?: readonly string[]; dropExport?: string } = {},
): Uint8Array {
  if (CLANG_MISSING !== undefined) throw new Error(CLANG_MISSING);
  const text = options.source ?? readFileSync(join(GUESTS, `${name}.c`), 'utf8');
  const extra = options.extra ?? [];
  // Leaving one of the contract's exports out, to see it refused.
  const ldflags = LDFLAGS.filter((f) => f !== `-Wl,--export=${options.dropExport}`);
  const hash = createHash('sha256');
  for (const part of [text, ...extra, ...CFLAGS, ...ldflags]) hash.update(part).update('\0');
  for (const f of [
    ...SDK_SOURCES,
    join(SDK_INCLUDE, 'pvlab/guest.h'),
    join(SDK_INCLUDE, 'pvlab/imports.h'),
  ]) {
    hash.update(readFileSync(f)).update('\0');
  }
  const key = hash.digest('hex').slice(0, 16);
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, `${name}-${key}.wasm`);
  if (existsSync(out)) return new Uint8Array(readFileSync(out));
  const src = join(CACHE, `${name}-${key}.c`);
  writeFileSync(src, text);
  // Built under its own name (the name section's module name, which V8 shows in stacks), then
  // renamed into place: test files building the same guest at once never read half a file.
  const dir = join(CACHE, `build-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `${name}.wasm`);
  const args = [
    ...CFLAGS,
    `-fuse-ld=${WASM_LD}`,
    '-Wall',
    '-Wextra',
    '-Werror',
    `-I${SDK_INCLUDE}`,
    `-I${GUESTS}`,
    ...SDK_SOURCES,
    src,
    '-o',
    tmp,
    ...ldflags,
    ...extra,
  ];
  const r = spawnSync(CLANG!, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`clang failed on ${name}.c:\n${r.stderr}${r.stdout}`);
  renameSync(tmp, out);
  return new Uint8Array(readFileSync(out));
}
