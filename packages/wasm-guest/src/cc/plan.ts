/**
 * The build as command lines: one clang compile per C file (each with its own dependency file,
 * which the cache reads), then one wasm-ld link. Both toolchains run the same plan.
 */
import { basename, join } from 'node:path';
import type { CcArgs, Token } from './args.js';
import { COMPILE_DEFAULTS, COMPILE_PINNED, LINK_PINNED, TARGET } from './flags.js';
import type { Sdk } from './sdk.js';

export interface CompileStep {
  readonly source: string;
  readonly object: string;
  readonly depfile: string;
  /** clang's arguments (argv[0] excluded). */
  readonly args: readonly Token[];
}

export interface BuildPlan {
  readonly compiles: readonly CompileStep[];
  /** wasm-ld's arguments (argv[0] excluded); it writes `output`. */
  readonly link: readonly Token[];
  readonly output: string;
}

/** Where each file of a build goes: objects, dependency files and the module in `tmp`. */
export function planBuild(args: CcArgs, sdk: Sdk, tmp: string, options: { color: boolean }): BuildPlan {
  const path = (p: string): Token => ({ prefix: '', path: p });
  const sources = [...sdk.sources, ...args.inputs];
  const compiles = sources.map((source, n): CompileStep => {
    const stem = join(tmp, `${n}-${basename(source, '.c')}`);
    const object = `${stem}.o`;
    const depfile = `${stem}.d`;
    return {
      source,
      object,
      depfile,
      args: [
        TARGET,
        ...COMPILE_DEFAULTS,
        // The SDK's headers first: a stale copy of <pvlab/guest.h> elsewhere cannot shadow them.
        { prefix: '-I', path: sdk.include },
        ...args.compile,
        ...COMPILE_PINNED,
        ...(options.color ? ['-fcolor-diagnostics'] : []),
        '-MD',
        '-MF',
        path(depfile),
        '-c',
        path(source),
        '-o',
        path(object),
      ],
    };
  });
  const output = join(tmp, 'guest.wasm');
  const link: Token[] = [
    '-m',
    'wasm32',
    ...compiles.map((c) => path(c.object)),
    ...args.link,
    ...LINK_PINNED,
    '-o',
    path(output),
  ];
  return { compiles, link, output };
}

/** A command line as one shell-quoted line (for `-v`). */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}
