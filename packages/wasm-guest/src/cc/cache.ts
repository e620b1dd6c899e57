/**
 * The build cache. An entry's key hashes everything known before a build (toolchain, pvlab-cc's
 * version, flags, working directory, the C inputs and the SDK's sources); its manifest lists the
 * headers the build read (from clang's dependency files) with their hashes, re-checked on every
 * hit. Files are written to a temporary name and renamed, so readers never see half a file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Env } from './toolchain.js';

/** Bumped when the key or the manifest changes meaning. */
const FORMAT = 1;

interface Manifest {
  readonly format: number;
  /** sha256 of the cached module. */
  readonly wasm: string;
  /** Every header the build read, to its sha256. */
  readonly headers: Record<string, string>;
}

/** `$PVLAB_CC_CACHE`, else `$XDG_CACHE_HOME/pvlab-cc`, else `~/.cache/pvlab-cc`. */
export function cacheDir(env: Env): string {
  if (env.PVLAB_CC_CACHE) return env.PVLAB_CC_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pvlab-cc');
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The sha256 of a file's bytes, or undefined when it cannot be read. */
export function hashFile(path: string): string | undefined {
  try {
    return sha256(readFileSync(path));
  } catch {
    return undefined;
  }
}

/** The key of a build: sha256 of `parts` (plain data) as JSON, with the cache format. */
export function cacheKey(parts: unknown): string {
  return sha256(JSON.stringify({ format: FORMAT, parts }));
}

const entryPath = (dir: string, key: string, ext: string) => join(dir, key.slice(0, 2), `${key}.${ext}`);

/** The cached module, or why there is none (a line for `-v`). */
export function lookup(dir: string, key: string): { wasm: Buffer } | { miss: string } {
  let manifest: Manifest;
  let wasm: Buffer;
  try {
    manifest = JSON.parse(readFileSync(entryPath(dir, key, 'json'), 'utf8')) as Manifest;
    wasm = readFileSync(entryPath(dir, key, 'wasm'));
  } catch {
    return { miss: 'no entry' };
  }
  if (manifest.format !== FORMAT || sha256(wasm) !== manifest.wasm) return { miss: 'a damaged entry' };
  for (const [path, hash] of Object.entries(manifest.headers))
    if (hashFile(path) !== hash) return { miss: `${path} changed` };
  return { wasm };
}

/** Stores a built module with the headers it read; a header that vanished keeps it uncached. */
export function store(dir: string, key: string, wasm: Uint8Array, headerPaths: Iterable<string>): void {
  const headers: Record<string, string> = {};
  for (const path of [...new Set(headerPaths)].sort()) {
    const hash = hashFile(path);
    if (hash === undefined) return;
    headers[path] = hash;
  }
  const manifest: Manifest = { format: FORMAT, wasm: sha256(wasm), headers };
  mkdirSync(join(dir, key.slice(0, 2)), { recursive: true });
  // The module first: a manifest is only ever beside the module it describes.
  writeFileAtomic(entryPath(dir, key, 'wasm'), wasm);
  writeFileAtomic(entryPath(dir, key, 'json'), `${JSON.stringify(manifest, null, 1)}\n`);
}

/** Writes `data` to a temporary file beside `path`, then renames it over `path`. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.pvlab-cc-tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
