import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cc, hasClang19, sandbox, writeTree } from './cc-helpers.ts';
import { inspectModule, readModuleFacts } from './cc-wasm-sections.ts';

const box = sandbox();
afterAll(() => rmSync(box.root, { recursive: true, force: true }));
const env = { PATH: process.env.PATH, PVLAB_CC_SDK: box.sdk, PVLAB_CC_CACHE: box.cache };
const noNpm = async () => undefined;
const run = (argv: string[], extra: Record<string, string | undefined> = {}) =>
  cc(argv, { env: { ...env, ...extra }, cwd: box.work, loadNpmClang: noNpm });

writeTree(box.work, {
  'main.c': `#include <pvlab/guest.h>
#include "config.h"
int table[256] = {TABLE_FIRST, 2, 3};
_Thread_local int per_cpu;
void guest_main(int cpu) { per_cpu = cpu; table[cpu & 255] += per_cpu; }
`,
  'config.h': '#define TABLE_FIRST 7\n',
});

describe.skipIf(!hasClang19)('pvlab-cc with the system clang (clang-19)', () => {
  it('pins the ABI: shared 4 GiB memory import, the exports, the image at 1 MiB, the name section', async () => {
    const r = await run(['-O2', '-o', 'guest.wasm', 'main.c']);
    expect(r.code, r.stderr).toBe(0);
    const bytes = readFileSync(join(box.work, 'guest.wasm'));
    const module = inspectModule(bytes);
    expect(module.imports).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    const facts = readModuleFacts(bytes);
    expect(facts.memoryImports).toHaveLength(1);
    expect(facts.memoryImports[0]).toMatchObject({ shared: true, maximumPages: 65536 });
    const exports = module.exports;
    for (const name of [
      '__stack_pointer',
      '__wasm_init_tls',
      '__tls_size',
      '__tls_align',
      '__heap_base',
      '__data_end',
      'pvlab_start',
    ])
      expect(exports).toContain(name);
    // The image (data and bss, then wasm-ld's own 4 KiB stack) starts at --global-base=1048576.
    const dataEnd = facts.globals.get('__data_end')!;
    const heapBase = facts.globals.get('__heap_base')!;
    expect(facts.dataBytes).toBeGreaterThanOrEqual(3 * 4); // table's non-zero start
    expect(dataEnd).toBeGreaterThanOrEqual(1048576 + 256 * 4);
    expect(heapBase).toBeGreaterThanOrEqual(dataEnd + 4096);
    expect(facts.memoryImports[0]!.initialPages * 65536).toBeGreaterThanOrEqual(heapBase);
    // -g: the name section names the C functions (a fault names them).
    const names = module.customSections('name');
    expect(names).toHaveLength(1);
    expect(Buffer.from(names[0]!).toString('latin1')).toContain('guest_main');
  });

  it('caches by content: hit, then a miss when a header, the source, a flag or the SDK changes', async () => {
    const build = async (extra: string[] = []) => {
      const r = await run(['-v', ...extra, '-o', 'cached.wasm', 'main.c']);
      expect(r.code, r.stderr).toBe(0);
      const hit = r.stderr.includes('pvlab-cc: cache hit ');
      const miss = r.stderr.includes('pvlab-cc: cache miss ');
      expect(hit).not.toBe(miss);
      return { hit, stderr: r.stderr, bytes: readFileSync(join(box.work, 'cached.wasm')) };
    };
    rmSync(box.cache, { recursive: true, force: true });
    const first = await build();
    expect(first.hit).toBe(false);
    expect(first.stderr).toMatch(/clang-19 .*-c .*main\.c/); // -v prints the command lines
    expect(first.stderr).toMatch(/wasm-ld-19 .*--global-base=1048576/);
    const second = await build();
    expect(second.hit).toBe(true);
    expect(second.bytes.equals(first.bytes)).toBe(true);

    writeFileSync(join(box.work, 'config.h'), '#define TABLE_FIRST 9\n');
    const header = await build();
    expect(header.hit).toBe(false);
    expect(header.stderr).toContain('config.h changed');
    expect(header.bytes.equals(first.bytes)).toBe(false);
    expect((await build()).hit).toBe(true);

    const source = readFileSync(join(box.work, 'main.c'), 'utf8');
    writeFileSync(join(box.work, 'main.c'), `${source}int extra;\n`);
    expect((await build()).hit).toBe(false);
    writeFileSync(join(box.work, 'main.c'), source);
    expect((await build()).hit).toBe(true); // the first variant's entry was kept under its own key

    expect((await build(['-DUNUSED=1'])).hit).toBe(false);
    expect((await build(['-DUNUSED=1'])).hit).toBe(true);

    const crt = join(box.sdk, 'src', 'crt.c');
    const crtText = readFileSync(crt, 'utf8');
    writeFileSync(crt, `${crtText}int sdk_extra;\n`);
    try {
      expect((await build()).hit).toBe(false);
    } finally {
      writeFileSync(crt, crtText);
    }
  });

  it('a damaged cache entry is a miss; --no-cache neither reads nor writes the cache', async () => {
    const cache = join(box.root, 'cache-damage');
    const once = await run(['-v', '-o', 'd.wasm', 'main.c'], { PVLAB_CC_CACHE: cache });
    expect(once.stderr).toContain('cache miss');
    const [shard] = readdirSync(cache);
    const wasmFile = readdirSync(join(cache, shard!)).find((f) => f.endsWith('.wasm'))!;
    writeFileSync(join(cache, shard!, wasmFile), 'not a module');
    const damaged = await run(['-v', '-o', 'd.wasm', 'main.c'], { PVLAB_CC_CACHE: cache });
    expect(damaged.stderr).toContain('cache miss');
    expect(damaged.stderr).toContain('damaged');
    inspectModule(readFileSync(join(box.work, 'd.wasm'))); // the rebuilt module, whole

    const fresh = join(box.root, 'cache-never');
    const r = await run(['-v', '--no-cache', '-o', 'd.wasm', 'main.c'], { PVLAB_CC_CACHE: fresh });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('cache');
    expect(() => readdirSync(fresh)).toThrow();
  });

  it('a compile error: clang diagnostics on stderr, exit 1, the previous output untouched', async () => {
    writeFileSync(join(box.work, 'keep.wasm'), 'previous');
    writeFileSync(join(box.work, 'broken.c'), 'int x = ;\n');
    const before = readdirSync(box.work).sort();
    const r = await run(['-o', 'keep.wasm', 'broken.c']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(box.work, 'broken.c')}:1:9: error: expected expression`);
    expect(readFileSync(join(box.work, 'keep.wasm'), 'utf8')).toBe('previous');
    expect(readdirSync(box.work).sort()).toEqual(before); // no temporary file left behind
  });

  it("a wire struct whose size does not match fails the build with clang's static_assert message", async () => {
    writeTree(box.work, {
      'mismatch/pvlab/guest.h': `#pragma once
#include <stdint.h>
struct pvlab_vcpu_info { uint32_t cpu, cpus, restored, arch, pages_gpa, pages_bytes, image_end; };
_Static_assert(sizeof(struct pvlab_vcpu_info) == 32, "struct pvlab_vcpu_info must be 32 bytes");
`,
      'mismatch.c': '#include "mismatch/pvlab/guest.h"\nvoid guest_main(int cpu) { (void)cpu; }\n',
    });
    const r = await run(['-o', 'mismatch.wasm', 'mismatch.c']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: static assertion failed.*struct pvlab_vcpu_info must be 32 bytes/);
  });

  it('PVLAB_CLANG names the clang; wasm-ld is found beside it or through PVLAB_WASM_LD', async () => {
    const direct = await run(['-v', '--no-cache', '-o', 'p.wasm', 'main.c'], {
      PATH: '',
      PVLAB_CLANG: '/usr/bin/clang-19',
    });
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stderr).toContain('toolchain: system clang /usr/bin/clang-19');
    expect(direct.stderr).toContain('wasm-ld /usr/bin/wasm-ld-19'); // beside it, matching its suffix
    inspectModule(readFileSync(join(box.work, 'p.wasm')));

    // A wrapper script: nothing beside it is a wasm-ld.
    const bin = join(box.root, 'bin');
    const wrapper = join(bin, 'myclang');
    writeTree(bin, { myclang: '#!/bin/sh\nexec /usr/bin/clang-19 "$@"\n' });
    chmodSync(wrapper, 0o755);
    const alone = await run(['--no-cache', '-o', 'p.wasm', 'main.c'], { PATH: '', PVLAB_CLANG: wrapper });
    expect(alone.code).toBe(2);
    expect(alone.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(alone.stderr).toContain(`PVLAB_CLANG=${wrapper}: no wasm-ld beside it`);
    expect(alone.stderr).toContain('set PVLAB_WASM_LD');

    const chosenLd = await run(['-v', '--no-cache', '-o', 'p.wasm', 'main.c'], {
      PATH: '',
      PVLAB_CLANG: wrapper,
      PVLAB_WASM_LD: '/usr/bin/wasm-ld-19',
    });
    expect(chosenLd.code, chosenLd.stderr).toBe(0);
    expect(chosenLd.stderr).toContain(`toolchain: system clang ${wrapper}`);
    expect(chosenLd.stderr).toContain('wasm-ld /usr/bin/wasm-ld-19');
  });
});

describe('pvlab-cc toolchain errors (exit 2, one line)', () => {
  const oneLine = (r: { code: number; stderr: string }) => {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  };
  it('a PVLAB_CLANG that does not exist', async () => {
    const r = await run(['-o', 'x.wasm', 'main.c'], { PVLAB_CLANG: '/no/such/clang' });
    oneLine(r);
    expect(r.stderr).toContain('PVLAB_CLANG=/no/such/clang is not an executable file');
  });
  it('a PVLAB_CLANG that is not a clang', async () => {
    const r = await run(['-o', 'x.wasm', 'main.c'], { PVLAB_CLANG: process.execPath });
    oneLine(r);
    expect(r.stderr).toContain('needs clang ≥ 17');
  });
  it('no toolchain at all names both ways to get one', async () => {
    const r = await run(['-o', 'x.wasm', 'main.c'], { PATH: '' });
    oneLine(r);
    expect(r.stderr).toContain('apt-get install -y --no-install-recommends clang-19 lld-19');
    expect(r.stderr).toContain('npm install @yowasp/clang@22.0.0-git20542-10');
  });
  it('a forced toolchain that is missing names what to install', async () => {
    const system = await run(['-o', 'x.wasm', 'main.c'], { PATH: '', PVLAB_CC_TOOLCHAIN: 'system' });
    oneLine(system);
    expect(system.stderr).toContain('PVLAB_CC_TOOLCHAIN=system');
    expect(system.stderr).toContain('clang-19 lld-19');
    const npm = await run(['-o', 'x.wasm', 'main.c'], { PVLAB_CC_TOOLCHAIN: 'npm' });
    oneLine(npm);
    expect(npm.stderr).toContain('PVLAB_CC_TOOLCHAIN=npm: @yowasp/clang is not installed');
  });
  it('an npm clang of another version is refused by version', async () => {
    const other = async () => ({
      version: '21.0.0',
      path: '/x/bundle.js',
      runClang: async () => ({}),
      runLLVM: async () => ({}),
    });
    const r = await cc(['-o', 'x.wasm', 'main.c'], {
      env: { ...env, PATH: '', PVLAB_CC_TOOLCHAIN: 'npm' },
      cwd: box.work,
      loadNpmClang: other,
    });
    oneLine(r);
    expect(r.stderr).toContain(
      '@yowasp/clang 21.0.0 is installed; pvlab-cc needs exactly 22.0.0-git20542-10',
    );
  });
});
