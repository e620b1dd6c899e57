/**
 * Builds the suite's C guest with pvlab-cc (the package's own bin, so its toolchain search, pinned
 * flags and build cache apply: an unchanged build is a copy). No toolchain is not a failure of
 * the bench: the suite is skipped with pvlab-cc's own line, which names how to get one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../../guests/c/hypercall-bench.c', import.meta.url));

/** pvlab-cc's exit code for a usage problem, which for our fixed command line means the toolchain. */
const USAGE_EXIT = 2;

export type CGuestBuild =
  | {
      readonly wasm: string;
      dispose(): void;
    }
  | { readonly skipped: string };

/** Builds guests/c/hypercall-bench.c into a temporary directory (`dispose()` removes it). */
export function buildCGuest(): CGuestBuild {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('@pvlab/wasm-guest/package.json')), 'bin', 'pvlab-cc.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'pvlab-bench-wasm-'));
  const wasm = join(dir, 'hypercall-bench.wasm');
  const r = spawnSync(process.execPath, [bin, '-o', wasm, SOURCE], { encoding: 'utf8' });
  if (r.error) {
    rmSync(dir, { recursive: true, force: true });
    throw r.error;
  }
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    const said = `${r.stderr}${r.stdout}`.trim();
    if (r.status === USAGE_EXIT) return { skipped: said.split('\n')[0]! };
    throw new Error(`wasm-guest: pvlab-cc could not build ${SOURCE} (exit ${r.status}):\n${said}`);
  }
  return { wasm, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
