/**
 * The repo's import rule (DESIGN "Layout", issue 15 point 3), checked on the sources: an
 * interface package (every `packages/*` but this core) depends on `@pvlab/hypercall` only, and its
 * `src/` imports only `@pvlab/hypercall`, `/guest`, `/host` and its own files (a Node program's
 * directory, NODE_ONLY_DIRS, also Node's built-ins); the core imports
 * no other package; the apps compose them. Within a package the rooms stay apart (guest and host
 * do not import each other, wire imports neither), and no package or app has an import cycle.
 * It lives with the core because the core is what the rule names.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CORE = 'hypercall';
/** What an interface package's sources may import from another package. */
const CORE_ENTRIES = ['@pvlab/hypercall', '@pvlab/hypercall/guest', '@pvlab/hypercall/host'];

/**
 * Workspace devDependencies an interface package's tests need, and why. Anything else that
 * composes packages belongs in an app's tests.
 */
const TEST_ONLY_LINKS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  vtl: {
    '@pvlab/tlb-ipi':
      "vtl's test partition installs tlb-ipi, before or after vtl, to check that a locked TLB suspends its flushes (vtl/test/fixtures.ts)",
  },
};

/**
 * Directories of an interface package's `src/` that are Node programs, and why: their files may
 * import Node's built-ins (`node:*`), and no file outside them may import them, so the library
 * itself stays free of Node.
 */
const NODE_ONLY_DIRS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'wasm-guest': { cc: 'pvlab-cc (bin/pvlab-cc.mjs), the command that runs clang and wasm-ld over files' },
};

/** The module specifiers a TypeScript source imports or re-exports (static, type-only, dynamic). */
export function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const statics = /^[ \t]*(?:import|export)\s(?:[^;'"]*?\sfrom\s*)?['"]([^'"\n]+)['"]/gm;
  const dynamics = /\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g;
  for (const m of source.matchAll(statics)) found.push(m[1]!);
  for (const m of source.matchAll(dynamics)) found.push(m[1]!);
  return found;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The `.ts` file a relative specifier names (`./x.js` is `./x.ts`), or `null` when there is none. */
function resolveRelative(from: string, specifier: string): string | null {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

interface Project {
  /** `packages/<name>` or `apps/<name>`. */
  readonly dir: string;
  readonly name: string;
  readonly manifest: {
    readonly dependencies?: Record<string, string>;
    readonly peerDependencies?: Record<string, string>;
    readonly devDependencies?: Record<string, string>;
  };
  /** Every source file and what it imports: relative imports resolved, the others as written. */
  readonly files: readonly { readonly file: string; readonly local: string[]; readonly bare: string[] }[];
}

function project(dir: string): Project {
  const src = join(ROOT, dir, 'src');
  const files = tsFiles(src).map((file) => {
    const local: string[] = [];
    const bare: string[] = [];
    for (const specifier of importSpecifiers(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) {
        bare.push(specifier);
        continue;
      }
      const target = resolveRelative(file, specifier);
      if (target === null) throw new Error(`${relative(ROOT, file)}: '${specifier}' names no .ts file`);
      local.push(target);
    }
    return { file, local, bare };
  });
  return {
    dir,
    name: dir.split('/')[1]!,
    manifest: JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')),
    files,
  };
}

const projects = (parent: 'packages' | 'apps') =>
  readdirSync(join(ROOT, parent))
    .filter((name) => existsSync(join(ROOT, parent, name, 'package.json')))
    .map((name) => project(`${parent}/${name}`));

const PACKAGES = projects('packages');
const APPS = projects('apps');
const workspaceLinks = (deps: Record<string, string> | undefined) =>
  Object.keys(deps ?? {}).filter((name) => name.startsWith('@pvlab/'));

/** The groups of files that import each other in a circle (Tarjan's strongly connected components). */
function cycles(p: Project): string[] {
  const edges = new Map(p.files.map((f) => [f.file, f.local]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) {
      onStack.delete(w);
      group.push(w);
      if (w === v) break;
    }
    if (group.length > 1 || (edges.get(v) ?? []).includes(v)) groups.push(group);
  };
  for (const f of p.files) if (!index.has(f.file)) visit(f.file);
  const src = join(ROOT, p.dir, 'src');
  return groups.map(
    (g) =>
      `${p.dir}: ${g
        .map((f) => relative(src, f))
        .sort()
        .join(' ')}`,
  );
}

describe('importSpecifiers', () => {
  it('finds static, multi-line, type-only, re-exported, side-effect and dynamic imports, not strings', () => {
    const source = [
      "import { a } from './a.js';",
      'import {',
      '  b,',
      '  type C,',
      "} from '@pvlab/hypercall/host';",
      "import type { D } from '../d.js';",
      "export { e } from './e.js';",
      "export * as f from './f.js';",
      "import './side-effect.js';",
      "const g = await import('./g.js');",
      "export const h = 'not-an-import';",
      " * import x from 'a comment line';",
    ].join('\n');
    expect(importSpecifiers(source)).toEqual([
      './a.js',
      '@pvlab/hypercall/host',
      '../d.js',
      './e.js',
      './f.js',
      './side-effect.js',
      './g.js',
    ]);
  });
});

describe('one import rule: interface packages depend on @pvlab/hypercall only, the apps compose them', () => {
  it('finds the core, the interface packages and the apps', () => {
    expect(PACKAGES.map((p) => p.name)).toContain(CORE);
    expect(PACKAGES.length).toBeGreaterThan(2);
    expect(APPS.length).toBeGreaterThan(0);
    for (const p of [...PACKAGES, ...APPS]) expect(p.files.length, p.dir).toBeGreaterThan(0);
  });

  it.each(PACKAGES.map((p) => [p.name, p] as const))(
    '%s: dependencies name no workspace package but the core',
    (name, p) => {
      const allowed = name === CORE ? [] : ['@pvlab/hypercall'];
      for (const field of ['dependencies', 'peerDependencies'] as const) {
        expect(workspaceLinks(p.manifest[field]), `${p.dir}/package.json ${field}`).toEqual(
          workspaceLinks(p.manifest[field]).filter((d) => allowed.includes(d)),
        );
      }
      const testOnly = TEST_ONLY_LINKS[name] ?? {};
      expect(workspaceLinks(p.manifest.devDependencies), `${p.dir}/package.json devDependencies`).toEqual(
        Object.keys(testOnly),
      );
    },
  );

  it.each(PACKAGES.map((p) => [p.name, p] as const))(
    '%s: src/ imports only @pvlab/hypercall (its guest and host entries) and its own files',
    (name, p) => {
      const allowed = name === CORE ? [] : CORE_ENTRIES;
      const src = join(ROOT, p.dir, 'src');
      const nodeDirs = Object.keys(NODE_ONLY_DIRS[name] ?? {}).map((d) => join(src, d));
      const nodeOnly = (file: string) => nodeDirs.some((d) => !relative(d, file).startsWith('..'));
      for (const f of p.files) {
        const where = relative(ROOT, f.file);
        const builtin = (s: string) => nodeOnly(f.file) && s.startsWith('node:');
        expect(
          f.bare.filter((s) => !allowed.includes(s) && !builtin(s)),
          `${where} imports another package`,
        ).toEqual([]);
        if (!nodeOnly(f.file))
          expect(
            f.local.filter(nodeOnly).map((t) => relative(ROOT, t)),
            `${where} imports a Node-only module`,
          ).toEqual([]);
        const outside = f.local.filter((t) => relative(src, t).startsWith('..'));
        expect(
          outside.map((t) => relative(ROOT, t)),
          `${where} imports outside its src/`,
        ).toEqual([]);
      }
    },
  );

  it.each(PACKAGES.map((p) => [p.name, p] as const))(
    '%s: the rooms stay apart (guest and host do not import each other; wire imports neither)',
    (_name, p) => {
      const src = join(ROOT, p.dir, 'src');
      const room = (file: string) => relative(src, file).split('/')[0];
      const forbidden: Readonly<Record<string, readonly string[]>> = {
        guest: ['host'],
        host: ['guest'],
        wire: ['guest', 'host'],
      };
      for (const f of p.files) {
        const bad = f.local.filter((t) => forbidden[room(f.file)!]?.includes(room(t)!) === true);
        expect(
          bad.map((t) => relative(src, t)),
          relative(ROOT, f.file),
        ).toEqual([]);
      }
    },
  );

  it('no import cycles, type-only imports included (each would be named by its files)', () => {
    const found = [...PACKAGES, ...APPS].flatMap(cycles).sort();
    expect(found).toEqual([]);
  });
});
