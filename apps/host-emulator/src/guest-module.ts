/**
 * The guest program module a run imports. JavaScript guests (`.mjs`, `.js`) are imported as they
 * are. TypeScript guests (`.ts`, `.mts`) are bundled by esbuild into a temporary `.mjs` first, with
 * `@pvlab/*` taken from the host's own installation; their stack frames are mapped back to the
 * TypeScript source through the bundle's source map. Wasm guests (`.wasm`) are compiled once here
 * and run by `@pvlab/wasm-guest` on every vCPU thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RunFailure } from './threaded/run-api.js';

/** A guest that did not build: one line, `file:line:column: what`. */
export class GuestBuildError extends Error {
  override readonly name = 'GuestBuildError';
}

/** A guest module ready to import. */
export interface PreparedGuest {
  /** What the vCPU threads import. */
  readonly url: string;
  /** A failure with frames of the built bundle mapped back to the guest's source. */
  mapFailure(failure: RunFailure): RunFailure;
  /** Removes the temporary bundle (a no-op for JavaScript guests). */
  cleanup(): void;
}

/** Guest files that are TypeScript. */
export const TYPESCRIPT_GUEST = /\.m?ts$/;

/** C guests compiled to wasm32 (`pvlab-cc`): the vCPU threads run them with `@pvlab/wasm-guest`. */
export const WASM_GUEST = /\.wasm$/;

/** The host package's folder: src/ and dist/ both sit one level below it. */
const HOST_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Lets CommonJS dependencies of a guest `require` Node's built-ins inside the ESM bundle. */
const REQUIRE_SHIM =
  "import { createRequire as __pvlabCreateRequire } from 'node:module';\nconst require = __pvlabCreateRequire(import.meta.url);";

/** Prepares the guest at `path` (an existing file). */
export async function prepareGuest(path: string): Promise<PreparedGuest> {
  if (!TYPESCRIPT_GUEST.test(path)) {
    return { url: pathToFileURL(path).href, mapFailure: (f) => f, cleanup: () => {} };
  }
  const esbuild = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'pvlab-guest-'));
  const outfile = join(dir, 'guest.mjs');
  let built: import('esbuild').BuildResult<{ write: false }>;
  try {
    built = await esbuild.build({
      entryPoints: [path],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'external',
      write: false,
      logLevel: 'silent',
      banner: { js: REQUIRE_SHIM },
      plugins: [
        {
          name: 'pvlab-from-host',
          setup(build: import('esbuild').PluginBuild) {
            // @pvlab/* from the host's installation (a guest folder need not install them).
            build.onResolve({ filter: /^@pvlab\// }, async (args) => {
              if (args.pluginData === 'pvlab-from-host') return undefined;
              const fromHost = await build.resolve(args.path, {
                kind: args.kind,
                resolveDir: HOST_DIR,
                pluginData: 'pvlab-from-host',
              });
              return fromHost.errors.length === 0 ? { path: fromHost.path } : undefined;
            });
          },
        },
      ],
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new GuestBuildError(buildErrorLine(e, path));
  }
  const js = built.outputFiles.find((f) => f.path.endsWith('.mjs'))!;
  const map = built.outputFiles.find((f) => f.path.endsWith('.map'));
  writeFileSync(outfile, js.contents);
  const sourceMap = map === undefined ? undefined : new SourceMap(JSON.parse(map.text));
  return {
    url: pathToFileURL(outfile).href,
    mapFailure: (f) =>
      f.stack === undefined || sourceMap === undefined
        ? f
        : { ...f, stack: f.stack.map((frame) => mapFrame(frame, outfile, sourceMap)) },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `fn (bundle:line:col)` → `fn (source.ts:line:col)` when the map knows the place. */
function mapFrame(frame: string, bundle: string, map: SourceMap): string {
  const m = /^(.*?)(\S+):(\d+):(\d+)(\)?)$/.exec(frame);
  if (!m || (m[2] !== bundle && m[2] !== `(${bundle}`)) return frame;
  const entry = map.findEntry(Number(m[3]) - 1, Number(m[4]) - 1) as {
    originalSource?: string;
    originalLine?: number;
    originalColumn?: number;
  };
  if (entry.originalSource === undefined || entry.originalLine === undefined) return frame;
  const source = entry.originalSource.startsWith('file:')
    ? fileURLToPath(entry.originalSource)
    : resolve(dirname(bundle), entry.originalSource);
  const open = m[2]!.startsWith('(') ? '(' : '';
  return `${m[1]}${open}${source}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}${m[5]}`;
}

/** esbuild's first error as `file:line:column: text`. */
function buildErrorLine(e: unknown, path: string): string {
  const first = (
    e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }
  ).errors?.[0];
  if (first === undefined)
    return `${path}: cannot build the guest program: ${e instanceof Error ? e.message : String(e)}`;
  const where = first.location
    ? `${resolve(first.location.file)}:${first.location.line}:${first.location.column + 1}`
    : path;
  return `${where}: cannot build the guest program: ${first.text}`;
}

/**
 * Where a guest's module graph has a syntax error (`file:line:column`), for the SyntaxErrors
 * Node reports without a place (one in a module the guest imports): esbuild parses the guest's
 * own modules (packages left out) and names the first error. Undefined when it finds none.
 */
export async function syntaxErrorPlace(path: string): Promise<string | undefined> {
  const esbuild = await import('esbuild');
  try {
    await esbuild.build({
      entryPoints: [path],
      bundle: true,
      write: false,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      logLevel: 'silent',
    });
    return undefined;
  } catch (e) {
    const line = buildErrorLine(e, path);
    return line.startsWith(`${path}: `) ? undefined : line.slice(0, line.indexOf(': cannot build'));
  }
}
