/**
 * pvlab-cc's command line: its own flags, `-o`, the C inputs, and the clang flags it passes
 * through (split into compile flags and linker items), with the ABI-breaking ones refused.
 */
import { resolve } from 'node:path';
import { refusedFlag, refusedLinkerFlag, refusedTarget } from './refusals.js';

/** A user mistake: one line for stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A command-line token; a path is kept apart so a virtual file system can map it. */
export type Token = string | { readonly prefix: string; readonly path: string };

/** What the command line asks for. Paths in tokens are absolute. */
export interface CcArgs {
  readonly help: boolean;
  readonly version: boolean;
  readonly verbose: boolean;
  readonly noCache: boolean;
  /** `-o`, absolute. */
  readonly output: string | undefined;
  /** The C sources, absolute, in order. */
  readonly inputs: readonly string[];
  /** Flags for every compile, in order. */
  readonly compile: readonly Token[];
  /** Items for wasm-ld (from -Wl, -Xlinker, -z, -L, -l), in order. */
  readonly link: readonly Token[];
  /** Directories named by include flags (for the npm clang's virtual file system). */
  readonly includeDirs: readonly string[];
  /** Files named by -include / -imacros. */
  readonly includeFiles: readonly string[];
}

/** Flags whose value is a path (separate, joined or `=`). */
const PATH_FLAGS = [
  '-I',
  '-isystem',
  '-iquote',
  '-idirafter',
  '-include',
  '-imacros',
  '-isysroot',
  '--sysroot',
  '-iprefix',
];
/** Include flags whose path is a directory. */
const INCLUDE_DIR_FLAGS = new Set(['-I', '-isystem', '-iquote', '-idirafter']);
/** Flags whose value (not a path) is the next argument when not joined. */
const VALUE_FLAGS = new Set(['-D', '-U', '-x', '-Xclang', '-mllvm', '-Xpreprocessor']);

const quote = (s: string) => JSON.stringify(s);

/** Parses pvlab-cc's arguments; throws UsageError (one line) on a refused or malformed one. */
export function parseArgs(argv: readonly string[], cwd: string): CcArgs {
  let help = false;
  let version = false;
  let verbose = false;
  let noCache = false;
  let output: string | undefined;
  const inputs: string[] = [];
  const compile: Token[] = [];
  const link: Token[] = [];
  const includeDirs: string[] = [];
  const includeFiles: string[] = [];
  const abs = (p: string) => resolve(cwd, p);

  const next = (i: number, flag: string) => {
    const value = argv[i + 1];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    return value;
  };
  const linkItem = (item: string, from: string) => {
    const why = refusedLinkerFlag(item);
    if (why) throw new UsageError(`${quote(from)} is refused: ${why}`);
    link.push(item);
  };
  const target = (value: string, arg: string) => {
    const why = refusedTarget(value);
    if (why) throw new UsageError(`${quote(arg)} is refused: ${why}`);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--version') version = true;
    else if (arg === '-v') verbose = true;
    else if (arg === '--no-cache') noCache = true;
    else if (arg === '-o' || (arg.startsWith('-o') && !arg.startsWith('-o='))) {
      if (output !== undefined) throw new UsageError('-o is given twice: pvlab-cc writes one module');
      const value = arg === '-o' ? next(i++, '-o') : arg.slice(2);
      output = abs(value);
    } else if (arg === '-target' || arg === '--target') target(next(i++, arg), `${arg} ${argv[i]}`);
    else if (arg.startsWith('--target=')) target(arg.slice('--target='.length), arg);
    else if (arg.startsWith('-Wl,')) for (const item of arg.slice(4).split(',')) linkItem(item, arg);
    else if (arg === '-Xlinker') linkItem(next(i++, arg), `${arg} ${argv[i]}`);
    else if (arg === '-z') {
      linkItem('-z', arg);
      linkItem(next(i++, arg), `-z ${argv[i]}`);
    } else if (arg === '-L' || arg === '-l') {
      const value = next(i++, arg);
      link.push(arg === '-L' ? { prefix: '-L', path: abs(value) } : `-l${value}`);
    } else if (arg.startsWith('-L')) link.push({ prefix: '-L', path: abs(arg.slice(2)) });
    else if (arg.startsWith('-l')) link.push(arg);
    else if (arg.startsWith('@'))
      throw new UsageError(`${quote(arg)}: response files are not read; give the flags themselves`);
    else if (arg === '-' || !arg.startsWith('-')) {
      if (!arg.endsWith('.c'))
        throw new UsageError(`${quote(arg)} is not a C source (.c): pvlab-cc compiles and links C files`);
      inputs.push(abs(arg));
    } else {
      const why = refusedFlag(arg);
      if (why) throw new UsageError(`${quote(arg)} is refused: ${why}`);
      i = passThrough(argv, i, compile, { abs, includeDirs, includeFiles });
    }
  }
  return { help, version, verbose, noCache, output, inputs, compile, link, includeDirs, includeFiles };
}

/** Adds a compile flag (and its value) to `compile`; returns the index of the last argument used. */
function passThrough(
  argv: readonly string[],
  i: number,
  compile: Token[],
  ctx: { abs: (p: string) => string; includeDirs: string[]; includeFiles: string[] },
): number {
  const arg = argv[i]!;
  for (const flag of PATH_FLAGS) {
    if (!arg.startsWith(flag)) continue;
    let value: string;
    let prefix: string;
    if (arg === flag) {
      value = argv[i + 1] ?? '';
      if (value === '') throw new UsageError(`${arg} needs a value`);
      prefix = flag;
      compile.push(flag);
      i++;
    } else if (arg.startsWith(`${flag}=`)) {
      value = arg.slice(flag.length + 1);
      prefix = `${flag}=`;
    } else if (flag.startsWith('--')) continue;
    else {
      value = arg.slice(flag.length);
      prefix = flag;
    }
    const path = ctx.abs(value);
    compile.push(arg === flag ? { prefix: '', path } : { prefix, path });
    if (INCLUDE_DIR_FLAGS.has(flag)) ctx.includeDirs.push(path);
    else if (flag === '-include' || flag === '-imacros') ctx.includeFiles.push(path);
    return i;
  }
  compile.push(arg);
  if (VALUE_FLAGS.has(arg)) {
    const value = argv[i + 1];
    if (value === undefined) throw new UsageError(`${arg} needs a value`);
    compile.push(value);
    return i + 1;
  }
  return i;
}

/** A token as text, with `mapPath` applied to its path. */
export function renderToken(token: Token, mapPath: (p: string) => string = (p) => p): string {
  return typeof token === 'string' ? token : `${token.prefix}${mapPath(token.path)}`;
}
