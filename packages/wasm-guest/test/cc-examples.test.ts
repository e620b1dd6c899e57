import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cc } from './cc-helpers.ts';
import { inspectModule } from './cc-wasm-sections.ts';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'pvlab-cc-examples-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

// Each example builds against the package's own SDK with its README's command (and warnings as
// errors), with whichever toolchain pvlab-cc finds (the npm clang, a devDependency, at worst).
describe('the C examples build with pvlab-cc', () => {
  const names = readdirSync(EXAMPLES).sort();
  it('are the three of the README', () => {
    expect(names).toEqual(['get-vtl', 'ipi-ping-pong', 'tlb-shootdown']);
  });
  it.each(names)('%s', { timeout: 180_000 }, async (name) => {
    const dir = join(EXAMPLES, name);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('npx pvlab-cc -O2 -o guest.wasm main.c');
    expect(readme).toContain('npx pvlab-host run --guest guest.wasm --vcpus 4 --seed 1');
    const output = join(out, `${name}.wasm`);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, PVLAB_CC_CACHE: join(out, 'cache') };
    const r = await cc(['-O2', '-Wall', '-Wextra', '-Werror', '-o', output, 'main.c'], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const module = inspectModule(readFileSync(output));
    expect(module.exports).toContain('pvlab_start');
    // Every import is the VM's memory or one of the runtime's (namespace "pvlab").
    for (const i of module.imports)
      expect(i.module === 'pvlab' || i.name === 'memory', `${i.module}.${i.name}`).toBe(true);
  });
});
