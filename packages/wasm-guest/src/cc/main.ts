/**
 * pvlab-cc: builds a pvlab wasm guest from C files with the ABI's pinned flags and the SDK,
 * through the build cache. `pvlabCc` is the whole command; bin/pvlab-cc.mjs only calls it.
 */
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type CcArgs, parseArgs, renderToken, UsageError } from './args.js';
import { cacheDir, cacheKey, hashFile, lookup, store, writeFileAtomic } from './cache.js';
import { parseDepfile } from './depfile.js';
import { COMPILE_DEFAULTS, COMPILE_PINNED, LINK_PINNED, TARGET } from './flags.js';
import { HELP } from './help.js';
import { type BuildPlan, planBuild } from './plan.js';
import { runNpm } from './run-npm.js';
import { runSystem } from './run-system.js';
import { findSdk, PACKAGE_ROOT, type Sdk } from './sdk.js';
import { type Env, findToolchain, type NpmClangLoader, type Toolchain } from './toolchain.js';

export interface PvlabCcOptions {
  readonly env: Env;
  readonly cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Colour clang's diagnostics (stderr is a terminal and NO_COLOR is unset). */
  readonly color?: boolean;
  /** Replaces the npm clang's loader (tests). */
  readonly loadNpmClang?: NpmClangLoader;
}

/** pvlab-cc's version: its package's. */
export const PVLAB_CC_VERSION: string = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/** Runs pvlab-cc with `argv` (no node/script); resolves to the exit code. */
export async function pvlabCc(argv: readonly string[], options: PvlabCcOptions): Promise<number> {
  const say = (line: string) => options.stderr(`pvlab-cc: ${line}\n`);
  try {
    const args = parseArgs(argv, options.cwd);
    if (args.help) {
      options.stdout(HELP);
      return 0;
    }
    if (args.version) {
      options.stdout(`pvlab-cc ${PVLAB_CC_VERSION}\n`);
      return 0;
    }
    checkFiles(args);
    const sdk = findSdk(options.env.PVLAB_CC_SDK, options.cwd);
    const toolchain = await findToolchain(options.env, options.cwd, options.loadNpmClang);
    return await build(args, sdk, toolchain, options, say);
  } catch (e) {
    if (e instanceof UsageError) {
      say(`${e.message} (see pvlab-cc --help)`);
      return 2;
    }
    say(e instanceof Error ? e.message : String(e));
    return 1;
  }
}

/** The inputs and `-o` as a user gave them: one line and exit 2 for any that cannot work. */
function checkFiles(args: CcArgs): asserts args is CcArgs & { output: string } {
  if (args.inputs.length === 0)
    throw new UsageError('no C file given: pvlab-cc [clang flags] -o guest.wasm main.c');
  if (args.output === undefined)
    throw new UsageError('-o is missing: name the module to write, e.g. -o guest.wasm');
  for (const input of args.inputs) {
    try {
      if (!statSync(input).isFile()) throw new UsageError(`${input} is not a file`);
      accessSync(input, constants.R_OK);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`${input} cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
  }
  const outDir = dirname(args.output);
  let dirOk = false;
  try {
    dirOk = statSync(outDir).isDirectory();
  } catch {
    // reported below
  }
  if (!dirOk) throw new UsageError(`-o ${args.output}: the directory ${outDir} does not exist`);
  try {
    if (statSync(args.output).isDirectory()) throw new UsageError(`-o ${args.output} is a directory`);
  } catch (e) {
    if (e instanceof UsageError) throw e; // else it does not exist yet: fine
  }
}

async function build(
  args: CcArgs & { output: string },
  sdk: Sdk,
  toolchain: Toolchain,
  options: PvlabCcOptions,
  say: (line: string) => void,
): Promise<number> {
  const verbose = args.verbose;
  if (verbose) say(`toolchain: ${toolchain.describe}`);
  const dir = cacheDir(options.env);
  const key = args.noCache ? undefined : cacheKey(keyParts(args, sdk, toolchain, options.cwd));
  if (key !== undefined) {
    const found = lookup(dir, key);
    if ('wasm' in found) {
      writeFileAtomic(args.output, found.wasm);
      if (verbose) say(`cache hit ${key} (${dir}): wrote ${args.output}`);
      return 0;
    }
    if (verbose) say(`cache miss ${key} (${found.miss})`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'pvlab-cc-'));
  try {
    const plan = planBuild(args, sdk, tmp, { color: options.color ?? false });
    const io = { stderr: options.stderr, verbose };
    const ok =
      toolchain.kind === 'system'
        ? await runSystem(toolchain, plan, io)
        : await runNpm(toolchain.clang, plan, { args, sdk, cwd: options.cwd, tmp }, io);
    if (!ok) return 1;
    const wasm = readFileSync(plan.output);
    if (key !== undefined) {
      try {
        store(dir, key, wasm, headersRead(plan));
      } catch (e) {
        say(`warning: cannot write the build cache at ${dir}: ${(e as Error).message}`);
      }
    }
    writeFileAtomic(args.output, wasm);
    if (verbose) say(`wrote ${args.output} (${wasm.length} bytes)`);
    return 0;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Everything a build's key covers that is known before it runs. */
function keyParts(args: CcArgs, sdk: Sdk, toolchain: Toolchain, cwd: string) {
  const file = (path: string) => ({ path, sha256: hashFile(path) });
  return {
    pvlabCc: PVLAB_CC_VERSION,
    toolchain: toolchain.identity,
    cwd,
    pinned: [TARGET, ...COMPILE_DEFAULTS, ...COMPILE_PINNED, '|', ...LINK_PINNED],
    compile: args.compile.map((t) => renderToken(t)),
    link: args.link.map((t) => renderToken(t)),
    sdk: { include: sdk.include, sources: sdk.sources.map(file) },
    inputs: args.inputs.map(file),
  };
}

/** The files the compiles read besides their own source (headers), from their dependency files. */
function headersRead(plan: BuildPlan): string[] {
  const sources = new Set(plan.compiles.map((c) => c.source));
  return plan.compiles.flatMap((c) =>
    parseDepfile(readFileSync(c.depfile, 'utf8')).filter((d) => !sources.has(d)),
  );
}
