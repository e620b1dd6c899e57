/**
 * Runs a build plan with the npm clang. It runs over a virtual file tree held in memory, so
 * pvlab-cc copies in what a compile may read — the C inputs, the SDK, the header files under
 * every include directory and under each input's directory — at the real paths below
 * HOST_PREFIX, and copies the objects, dependency files and module back out.
 */
import { type Dirent, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CcArgs, renderToken, UsageError } from './args.js';
import { formatDepfile, parseDepfile } from './depfile.js';
import { isExit, type NpmClang, type Tree } from './npm-clang.js';
import { type BuildPlan, shellLine } from './plan.js';
import type { RunIo } from './run-system.js';
import type { Sdk } from './sdk.js';

/** Where real paths appear in the virtual tree (its /usr is the toolchain's own). */
export const HOST_PREFIX = '/pvlab-cc-host';
/** What the virtual tree may hold, so a huge include directory fails clearly instead of slowly. */
const MAX_FILES = 20_000;
const MAX_BYTES = 256 << 20;
/** How deep below an input's own directory its headers are copied (`#include "sub/x.h"`). */
const SOURCE_DIR_DEPTH = 4;
const HEADER = /\.(h|inc|def|c)$/;

const toVirtual = (real: string) =>
  HOST_PREFIX + (real.startsWith('/') ? real : `/${real.replaceAll('\\', '/')}`);

/** Runs the plan; false when a step failed (its diagnostics are already written). */
export async function runNpm(
  clang: NpmClang,
  plan: BuildPlan,
  ctx: { args: CcArgs; sdk: Sdk; cwd: string; tmp: string },
  io: RunIo,
): Promise<boolean> {
  let tree = mirror(ctx);
  await clang.runLLVM(null, {}, { fetchProgress: () => {} });
  ensureDir(tree, toVirtual(ctx.tmp));
  let stderr: Uint8Array[] = [];
  const options = {
    stdout: (b: Uint8Array | null) => void (b && stderr.push(b.slice())),
    stderr: (b: Uint8Array | null) => void (b && stderr.push(b.slice())),
    decodeASCII: false,
  };
  // Diagnostics and __FILE__ name the real paths, and DWARF the real working directory.
  const extra = [`-ffile-prefix-map=${HOST_PREFIX}=`, `-fdebug-compilation-dir=${ctx.cwd}`];
  const step = async (run: NpmClang['runClang'], argv: string[]): Promise<boolean> => {
    if (io.verbose) io.stderr(`${shellLine(argv)}\n`);
    stderr = [];
    let ok = true;
    try {
      tree = await run(argv, tree, options);
    } catch (e) {
      if (!isExit(e)) throw e;
      ok = false;
    }
    io.stderr(Buffer.concat(stderr).toString('utf8').replaceAll(`${HOST_PREFIX}/`, '/'));
    return ok;
  };

  for (const c of plan.compiles) {
    const argv = ['clang', ...c.args.map((t) => renderToken(t, toVirtual))];
    argv.splice(argv.indexOf('-MD'), 0, ...extra);
    if (!(await step(clang.runClang, argv))) return false;
    writeFileSync(c.object, fileAt(tree, toVirtual(c.object)));
    // Only real files key the cache: the toolchain's own headers are covered by its version.
    const deps = parseDepfile(Buffer.from(fileAt(tree, toVirtual(c.depfile))).toString('utf8'))
      .filter((d) => d.startsWith(`${HOST_PREFIX}/`))
      .map((d) => d.slice(HOST_PREFIX.length));
    writeFileSync(c.depfile, formatDepfile(c.object, deps));
  }
  if (!(await step(clang.runLLVM, ['wasm-ld', ...plan.link.map((t) => renderToken(t, toVirtual))])))
    return false;
  writeFileSync(plan.output, fileAt(tree, toVirtual(plan.output)));
  return true;
}

/** The virtual tree with every file a compile of this build may read. */
function mirror(ctx: { args: CcArgs; sdk: Sdk }): Tree {
  const tree: Tree = {};
  const budget = { files: 0, bytes: 0 };
  const added = new Set<string>();
  const add = (real: string, from: string) => {
    if (added.has(real)) return;
    added.add(real);
    const data = readFileSync(real);
    budget.files++;
    budget.bytes += data.length;
    if (budget.files > MAX_FILES || budget.bytes > MAX_BYTES)
      throw new UsageError(
        `the npm clang reads every header it may need into memory, and ${from} holds more than ${MAX_FILES} files or ${MAX_BYTES >> 20} MiB: use a system clang (PVLAB_CLANG, or clang-19 and lld-19)`,
      );
    insert(tree, toVirtual(real), new Uint8Array(data.buffer, data.byteOffset, data.length));
  };
  const walked = new Set<string>(); // the same directory named twice is copied once
  const walk = (dir: string, depth: number, only: RegExp | undefined, from: string, up: string[] = []) => {
    let entries: Dirent[];
    let real: string;
    try {
      real = realpathSync(dir);
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // clang reports a missing include directory itself, if it matters
    }
    if (up.includes(real) || walked.has(`${dir}\0${depth}`)) return; // a link loop, or done
    walked.add(`${dir}\0${depth}`);
    for (const e of entries) {
      const path = join(dir, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && isDirectory(path));
      if (isDir) {
        if (depth > 0 && !e.name.startsWith('.') && e.name !== 'node_modules')
          walk(path, depth - 1, only, from, [...up, real]);
      } else if (!only || only.test(e.name)) {
        if (isFile(path)) add(path, from);
      }
    }
  };
  walk(ctx.sdk.include, Number.POSITIVE_INFINITY, undefined, ctx.sdk.include);
  for (const dir of ctx.args.includeDirs) walk(dir, Number.POSITIVE_INFINITY, HEADER, dir);
  for (const input of ctx.args.inputs) walk(join(input, '..'), SOURCE_DIR_DEPTH, HEADER, join(input, '..'));
  for (const file of [...ctx.sdk.sources, ...ctx.args.inputs, ...ctx.args.includeFiles])
    if (isFile(file)) add(file, file);
  return tree;
}

function insert(tree: Tree, path: string, data: Uint8Array): void {
  const parts = path.split('/').filter(Boolean);
  const name = parts.pop()!;
  ensureDir(tree, parts.join('/'))[name] = data;
}

function ensureDir(tree: Tree, path: string): Tree {
  let dir = tree;
  for (const part of path.split('/').filter(Boolean)) {
    const next = dir[part] ?? {};
    if (next instanceof Uint8Array) throw new Error(`virtual file system: ${part} in ${path} is a file`);
    dir[part] = next;
    dir = next;
  }
  return dir;
}

function fileAt(tree: Tree, path: string): Uint8Array {
  let node: Tree | Uint8Array | undefined = tree;
  for (const part of path.split('/').filter(Boolean))
    node = node instanceof Uint8Array ? undefined : (node as Tree | undefined)?.[part];
  if (!(node instanceof Uint8Array)) throw new Error(`the npm clang wrote no ${path}`);
  return node;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
