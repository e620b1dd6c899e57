import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cc, sandbox, writeTree } from './cc-helpers.ts';
import { inspectModule, readModuleFacts } from './cc-wasm-sections.ts';

// The npm clang (@yowasp/clang, a devDependency here) runs clang and wasm-ld compiled to WASI
// inside Node: this is the path a machine with only Node.js and npm takes.
const box = sandbox();
afterAll(() => rmSync(box.root, { recursive: true, force: true }));

it('PVLAB_CC_TOOLCHAIN=npm builds a guest with the npm clang, caches it by the headers it read', {
  timeout: 180_000,
}, async () => {
  writeTree(box.work, {
    'main.c': `#include <pvlab/guest.h>
#include "inc/config.h"
int table[64] = {VALUE};
void guest_main(int cpu) { table[cpu & 63]++; }
`,
    'inc/config.h': '#define VALUE 5\n',
  });
  // PATH is empty: nothing of the system toolchain can be used by mistake.
  const env = { PATH: '', PVLAB_CC_TOOLCHAIN: 'npm', PVLAB_CC_SDK: box.sdk, PVLAB_CC_CACHE: box.cache };
  const build = () => cc(['-v', '-O2', '-o', 'guest.wasm', 'main.c'], { env, cwd: box.work });

  const first = await build();
  expect(first.code, first.stderr).toBe(0);
  expect(first.stderr).toContain('toolchain: npm clang @yowasp/clang@22.0.0-git20542-10');
  expect(first.stderr).toContain('cache miss');
  const bytes = readFileSync(join(box.work, 'guest.wasm'));
  const facts = readModuleFacts(bytes);
  expect(facts.memoryImports).toEqual([
    { module: 'env', name: 'memory', initialPages: expect.any(Number), maximumPages: 65536, shared: true },
  ]);
  expect(facts.globals.get('__data_end')).toBeGreaterThanOrEqual(1048576 + 64 * 4);
  const { exports } = inspectModule(bytes);
  expect(exports).toEqual(
    expect.arrayContaining(['__stack_pointer', '__wasm_init_tls', '__heap_base', 'pvlab_start']),
  );

  expect((await build()).stderr).toContain('cache hit');
  writeFileSync(join(box.work, 'inc/config.h'), '#define VALUE 6\n');
  const changed = await build();
  expect(changed.stderr).toContain(`cache miss`);
  expect(changed.stderr).toContain(`${join(box.work, 'inc/config.h')} changed`);

  // Diagnostics name the real file, not the virtual file system's path.
  writeFileSync(join(box.work, 'broken.c'), 'int x = ;\n');
  const broken = await cc(['-o', 'broken.wasm', 'broken.c'], { env, cwd: box.work });
  expect(broken.code).toBe(1);
  expect(broken.stderr).toContain(`${join(box.work, 'broken.c')}:1:9: error: expected expression`);
});
