import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cc/args.ts';
import { cc, sandbox } from './cc-helpers.ts';

const box = sandbox();
afterAll(() => rmSync(box.root, { recursive: true, force: true }));
writeFileSync(join(box.work, 'main.c'), 'void guest_main(int cpu) { (void)cpu; }\n');
const env = { PATH: process.env.PATH, PVLAB_CC_SDK: box.sdk, PVLAB_CC_CACHE: box.cache };
const run = (argv: string[], extra: Record<string, string> = {}) =>
  cc(argv, { env: { ...env, ...extra }, cwd: box.work, loadNpmClang: async () => undefined });

/** Exit 2 with exactly one line on stderr, naming `needle`, and nothing written. */
async function refused(argv: string[], needle: string, extra?: Record<string, string>) {
  const r = await run(argv, extra);
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toContain(needle);
  return r.stderr;
}

describe('pvlab-cc refuses flags that break the guest ABI (exit 2, one line naming the flag and why)', () => {
  it.each([
    [['--target=wasm64'], '--target=wasm64', 'wasm32'],
    [['--target=wasm32-wasi'], '--target=wasm32-wasi', 'wasm32'],
    [['-target', 'x86_64-linux-gnu'], '-target x86_64-linux-gnu', 'wasm32'],
    [['-mtail-call'], '-mtail-call', 'Asyncify'],
    [['-mno-atomics'], '-mno-atomics', 'shared'],
    [['-mcpu=bleeding-edge'], '-mcpu=bleeding-edge', 'feature set'],
    [['-fuse-ld=lld'], '-fuse-ld=lld', 'wasm-ld itself'],
    [['--ld-path=/usr/bin/wasm-ld-19'], '--ld-path', 'wasm-ld itself'],
    [['-Wl,--stack-first'], '-Wl,--stack-first', 'low MiB'],
    [['-Wl,--no-entry,--global-base=0'], '-Wl,--no-entry,--global-base=0', 'memory layout'],
    [['-Xlinker', '--max-memory=65536'], '-Xlinker --max-memory=65536', 'memory layout'],
    [['-Wl,-z,stack-size=65536'], 'stack-size', 'memory layout'],
    [['-Wl,--export-memory'], '--export-memory', 'imported'],
    [['-Wl,--strip-all'], '--strip-all', 'name section'],
    [['-shared'], '-shared', 'statically linked'],
    [['-c'], '-c', 'whole guest module'],
    [['-MD'], '-MD', 'dependency files'],
    [['-MFdeps.d'], '-MFdeps.d', 'dependency files'],
    [['-fwasm-exceptions'], '-fwasm-exceptions', 'exceptions'],
  ])('%j', async (flags, named, why) => {
    const line = await refused([...flags, '-o', 'g.wasm', 'main.c'], named);
    expect(line).toContain(why);
  });

  it('takes --target=wasm32 and the flags that keep the ABI', () => {
    const args = parseArgs(
      [
        '--target=wasm32',
        '-O3',
        '-DX=1',
        '-Iinc',
        '-Wall',
        '-mcpu=generic',
        '-Wl,--export=f',
        '-o',
        'g.wasm',
        'm.c',
      ],
      '/w',
    );
    expect(args.compile).toEqual([
      '-O3',
      '-DX=1',
      { prefix: '-I', path: '/w/inc' },
      '-Wall',
      '-mcpu=generic',
    ]);
    expect(args.link).toEqual(['--export=f']);
    expect(args.inputs).toEqual(['/w/m.c']);
    expect(args.output).toBe('/w/g.wasm');
    expect(args.includeDirs).toEqual(['/w/inc']);
  });

  it('keeps a separate flag value with its flag, not as an input', () => {
    const args = parseArgs(['-I', 'inc', '-D', 'Y', '-include', 'pre.h', '-o', 'g.wasm', 'm.c'], '/w');
    expect(args.inputs).toEqual(['/w/m.c']);
    expect(args.compile).toEqual([
      '-I',
      { prefix: '', path: '/w/inc' },
      '-D',
      'Y',
      '-include',
      { prefix: '', path: '/w/pre.h' },
    ]);
    expect(args.includeFiles).toEqual(['/w/pre.h']);
  });
});

describe('pvlab-cc usage errors (exit 2, one line)', () => {
  it('no input file', async () => {
    await refused(['-o', 'g.wasm'], 'no C file given');
  });
  it('no -o', async () => {
    await refused(['main.c'], '-o is missing');
  });
  it('-o twice', async () => {
    await refused(['-o', 'a.wasm', '-o', 'b.wasm', 'main.c'], '-o is given twice');
  });
  it('a missing input file', async () => {
    await refused(['-o', 'g.wasm', 'nope.c'], 'nope.c cannot be read (ENOENT)');
  });
  it('an input that cannot be read as a file', async () => {
    mkdirSync(join(box.work, 'dir.c'), { recursive: true });
    await refused(['-o', 'g.wasm', 'dir.c'], 'dir.c is not a file');
  });
  it('an input that is not C', async () => {
    await refused(['-o', 'g.wasm', 'main.o'], '"main.o" is not a C source (.c)');
  });
  it('-o in a directory that does not exist', async () => {
    await refused(['-o', 'no/such/dir/g.wasm', 'main.c'], 'does not exist');
  });
  it('a flag missing its value', async () => {
    await refused(['main.c', '-o', 'g.wasm', '-I'], '-I needs a value');
  });
  it('an unknown PVLAB_CC_TOOLCHAIN', async () => {
    await refused(
      ['-o', 'g.wasm', 'main.c'],
      'PVLAB_CC_TOOLCHAIN=gcc is not a toolchain: use system or npm',
      {
        PVLAB_CC_TOOLCHAIN: 'gcc',
      },
    );
  });
  it('a PVLAB_CC_SDK without include/', async () => {
    await refused(['-o', 'g.wasm', 'main.c'], 'no include directory', { PVLAB_CC_SDK: box.work });
  });
});

describe('pvlab-cc --help and --version', () => {
  it('--help explains usage, the toolchains, the cache and the environment', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const text of [
      'Usage: pvlab-cc',
      'PVLAB_CLANG',
      'PVLAB_WASM_LD',
      'PVLAB_CC_TOOLCHAIN',
      'PVLAB_CC_CACHE',
      'clang-19',
      '@yowasp/clang@22.0.0-git20542-10',
      '--no-cache',
      '--global-base=1048576',
    ])
      expect(r.stdout).toContain(text);
  });
  it('--version prints the package version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pvlab-cc \d+\.\d+\.\d+/);
  });
});
