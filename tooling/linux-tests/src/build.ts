/**
 * Builds wasm guests from the Linux shim, the tree's files and a test driver (guests/*.c), with
 * the ABI contract's flags plus the kernel's own code-generation flags, cached by the content of
 * everything that goes in. `compile()` is the one place that runs the compiler.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linuxShimFlags, REPO_ROOT, SHIM_DIR } from './tree.mjs';

export interface LinuxTree {
  readonly root: string;
  readonly source: string;
  readonly version: string;
  readonly versionCode: number;
  readonly files: readonly string[];
  readonly extractDir: string;
}

const SDK = join(REPO_ROOT, 'packages/wasm-guest/sdk');
export const GUESTS_DIR = fileURLToPath(new URL('../guests/', import.meta.url));

/** The contract's flags (WASM-ABI.md "Build flags"): what pvlab-cc pins. */
const CFLAGS = [
  '--target=wasm32',
  '-O2',
  '-g',
  '-nostdlib',
  '-ffreestanding',
  '-matomics',
  '-mbulk-memory',
  '-mmutable-globals',
  '-msign-ext',
  '-fno-exceptions',
];
const LDFLAGS = [
  '-Wl,--import-memory,--shared-memory,--max-memory=4294967296,--global-base=1048576,-z,stack-size=4096',
  '-Wl,--export=__stack_pointer,--export=__wasm_init_tls,--export=__tls_size,--export=__tls_align,--export=__heap_base,--export=__data_end',
  '-Wl,--export=pvlab_start',
  '-Wl,--no-entry',
];

/** The shim files every Linux guest links: kernel infrastructure, boot, hv_common_cpu_init. */
export const SHIM_CORE = ['kernel.c', 'boot.c', 'hv_common-shim.c'];

function which(command: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Runs the C compiler (clang-19 with wasm-ld-19 for now; pvlab-cc pins the same flags). */
function compile(args: readonly string[]): void {
  const clang = process.env.PVLAB_CLANG ?? which('clang-19');
  const ld = which('wasm-ld-19') ?? which('wasm-ld');
  if (clang === undefined || ld === undefined)
    throw new Error(
      'clang-19 and wasm-ld-19 are needed to build the Linux guests: apt-get install clang-19 lld-19',
    );
  const r = spawnSync(clang, [...CFLAGS, `-fuse-ld=${ld}`, ...args, ...LDFLAGS], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the Linux guest does not build:\n${r.stderr}${r.stdout}`);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/**
 * Builds `guests/<driver>.c` with the SDK, the shim's core, the shim files `shims` and the tree,
 * into `<cacheDir>/wasm/`; returns the module's path.
 */
export function buildLinuxGuest(
  tree: LinuxTree,
  driver: string,
  shims: readonly string[],
  cacheDir: string,
): string {
  const sdkSources = readdirSync(join(SDK, 'src'))
    .filter((f) => f.endsWith('.c'))
    .map((f) => join(SDK, 'src', f));
  const sources = [
    ...sdkSources,
    ...[...SHIM_CORE, ...shims].map((f) => join(SHIM_DIR, f)),
    join(GUESTS_DIR, `${driver}.c`),
  ];
  const args = ['-Wall', '-Werror', `-I${join(SDK, 'include')}`, ...linuxShimFlags(tree), ...sources];
  const hash = createHash('sha256');
  const inputs = [
    ...walk(join(SDK, 'include')),
    ...walk(SHIM_DIR),
    ...walk(tree.extractDir),
    ...sources,
    ...tree.files.map((f) => join(tree.root, f)),
  ];
  for (const part of [...CFLAGS, ...LDFLAGS, ...args]) hash.update(part).update('\0');
  for (const f of inputs) hash.update(f).update('\0').update(readFileSync(f)).update('\0');
  const dir = join(cacheDir, 'wasm');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${driver}-${hash.digest('hex').slice(0, 16)}.wasm`);
  if (!existsSync(out)) {
    const tmp = `${out}.${process.pid}.tmp`;
    compile([...args, '-o', tmp]);
    renameSync(tmp, out);
  }
  return out;
}
