/**
 * The npm clang, `@yowasp/clang`: LLVM's clang and wasm-ld compiled to WASI, run inside Node over
 * a virtual file tree (an optional peer: pvlab-cc works without it when a system clang exists).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const NPM_CLANG = '@yowasp/clang';
/** The one version pvlab-cc is tested with. */
export const NPM_CLANG_VERSION = '22.0.0-git20542-10';

/** A virtual directory: names to subdirectories or file contents. */
export interface Tree {
  [name: string]: Tree | Uint8Array;
}

/** What `@yowasp/clang`'s runners take besides the arguments. */
export interface RunOptions {
  stdout?: ((bytes: Uint8Array | null) => void) | null;
  stderr?: ((bytes: Uint8Array | null) => void) | null;
  /** false: every output file comes back as bytes, never as a decoded string. */
  decodeASCII?: boolean;
  /** Called while the 100 MB of wasm and resources load; the default prints to stdout. */
  fetchProgress?: (event: { totalLength: number; doneLength: number }) => void;
}

/**
 * Runs one tool over `files`; resolves to the tree after the run, rejects with `Exit` on failure.
 * `null` arguments only load the wasm and resources (clang's inner runs use the default
 * progress printer, which this keeps quiet).
 */
export type NpmCommand = (args: string[] | null, files: Tree, options: RunOptions) => Promise<Tree>;

export interface NpmClang {
  readonly version: string;
  /** The module file it was loaded from. */
  readonly path: string;
  /** `clang` (argv[0] first): runs the driver's jobs one after another (no subprocesses in WASI). */
  readonly runClang: NpmCommand;
  /** `wasm-ld` and the other LLVM tools (argv[0] first). */
  readonly runLLVM: NpmCommand;
}

/** Its error on a non-zero exit (`code`, and the tree as it was). */
export function isExit(e: unknown): e is Error & { code: number } {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'number';
}

/**
 * Loads the npm clang with a dynamic import, found from this package (an installed peer) or
 * from `cwd` (a project that installed it); undefined when neither has it.
 */
export async function loadNpmClang(cwd: string): Promise<NpmClang | undefined> {
  const path = resolveFrom(import.meta.url) ?? resolveFrom(pathToFileURL(join(cwd, 'package.json')).href);
  if (!path) return undefined;
  const mod = (await import(pathToFileURL(path).href)) as {
    version: string;
    runClang: NpmCommand;
    runLLVM: NpmCommand;
  };
  return { version: mod.version, path, runClang: mod.runClang, runLLVM: mod.runLLVM };
}

function resolveFrom(base: string): string | undefined {
  try {
    return createRequire(base).resolve(NPM_CLANG);
  } catch {
    return undefined;
  }
}
