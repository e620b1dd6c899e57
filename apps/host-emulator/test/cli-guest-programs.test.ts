import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { example, guest, run } from './cli-harness.ts';

describe('guest programs: faults', () => {
  it('a hypercall whose input GPA is outside RAM is a #MEMORY fault: the guest sees it, the summary counts it as a fault', async () => {
    const text = await run('run', '--guest', guest('memory-fault.mjs'));
    expect(text.err).toBe('');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^call\s+count\s+statuses\s+faults\s+mean µs\s+p99 µs$/m);
    expect(text.out).toMatch(/^HvCallFlushVirtualAddressSpace\s+1\s+-\s+#MEMORY×1\s/m);
    const json = await run('run', '--guest', guest('memory-fault.mjs'), '--json');
    const report = JSON.parse(json.out) as {
      summary: { total: { statuses: object; faults: object } };
      reports: { fault: string }[];
    };
    expect(report.summary.total).toMatchObject({ statuses: {}, faults: { '#MEMORY': 1 } });
    expect(report.reports[0]!.fault).toMatch(/^#MEMORY: access to GPA 0x1001000 .*outside RAM/);
  }, 30_000);
});

describe('guest programs: errors name the place', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvlab-guest-errors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--json carries the guest frames of an exception and its innermost place', async () => {
    const r = await run('run', '--guest', guest('throws.mjs'), '--json');
    expect(r.code).toBe(2);
    const [failure] = (JSON.parse(r.out) as { failures: Record<string, unknown>[] }).failures;
    expect(failure).toEqual({
      kind: 'throw',
      message: "TypeError: Cannot read properties of undefined (reading '0')",
      vps: [0],
      stack: [`guest (${guest('throws.mjs')}:4:15)`],
      location: { file: guest('throws.mjs'), line: 4, column: 15 },
    });
  }, 30_000);

  it('frames of nested guest functions are kept, the vCPU thread and Node internals are not', async () => {
    const file = join(dir, 'nested.mjs');
    writeFileSync(
      file,
      'function inner(n) {\n  return BigInt(n);\n}\nfunction outer() {\n  return inner(4096.5);\n}\nexport default async function guest() {\n  await Promise.resolve();\n  outer();\n}\n',
    );
    const r = await run('run', '--guest', file);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      [
        'pvlab-host: the guest program threw on vCPU 0: RangeError: The number 4096.5 cannot be converted to a BigInt because it is not an integer',
        `    at inner (${file}:2:10)`,
        `    at outer (${file}:5:10)`,
        `    at guest (${file}:9:3)`,
        '',
      ].join('\n'),
    );
  }, 30_000);

  it('a syntax error in a module the guest imports names that module, line and column', async () => {
    const lib = join(dir, 'broken-lib.mjs');
    const main = join(dir, 'imports-broken.mjs');
    writeFileSync(lib, 'export function f() {\n  return 1 +;\n}\n');
    writeFileSync(main, "import { f } from './broken-lib.mjs';\nexport default function () {\n  f();\n}\n");
    const r = await run('run', '--guest', main);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `pvlab-host: ${lib}:2:13: cannot load the guest program: SyntaxError: Unexpected token ';'\n`,
    );
  }, 30_000);

  it('an import of a missing export names the importing line and column', async () => {
    const lib = join(dir, 'lib.mjs');
    const main = join(dir, 'imports.mjs');
    writeFileSync(lib, 'export const a = 1;\n');
    writeFileSync(main, "import { nope } from './lib.mjs';\nexport default function () {}\n");
    const r = await run('run', '--guest', main);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `pvlab-host: ${main}:1:10: cannot load the guest program: SyntaxError: The requested module './lib.mjs' does not provide an export named 'nope'\n`,
    );
  }, 30_000);
});

describe('guest programs outside a project: @pvlab/* from the host, TypeScript', () => {
  // Outside the repository, so nothing resolves from a node_modules of the workspace.
  const dir = mkdtempSync(join(tmpdir(), 'pvlab-plain-folder-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const copy = (name: string) => {
    const to = join(dir, name);
    copyFileSync(example(name), to);
    return to;
  };
  const guestBuilds = () => new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('pvlab-guest-')));

  it('examples/detect-hyperv.mjs in a plain folder imports @pvlab/hypercall from the host', async () => {
    const r = await run('run', '--vcpus', '2', '--guest', copy('detect-hyperv.mjs'), '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { reports: unknown[]; log: { line: string }[] };
    expect(report.reports).toEqual(
      [0, 1].map(() => ({
        hyperv: { maxLeaf: '0x40000006', spinWaitRetryCount: 0xfff, accessVpIndex: true },
      })),
    );
    expect(report.log.map((l) => l.line)).toEqual(['NotifyLongSpinWait: HV_STATUS_SUCCESS']);
  }, 30_000);

  it('examples/spin-wait.ts runs: bundled by esbuild, @pvlab/* from the host, the temporary build removed', async () => {
    const before = guestBuilds();
    const r = await run(
      'run',
      '--vcpus',
      '2',
      '--guest',
      copy('spin-wait.ts'),
      '--guest-arg',
      'spins=7',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { reports: unknown[]; summary: { total: { statuses: object } } };
    expect(report.reports).toEqual([{ status: 'HV_STATUS_SUCCESS' }, { status: 'HV_STATUS_SUCCESS' }]);
    expect(report.summary.total.statuses).toEqual({ HV_STATUS_SUCCESS: 2 });
    expect([...guestBuilds()].filter((n) => !before.has(n))).toEqual([]);
  }, 30_000);

  it('a TypeScript guest that throws names its .ts lines', async () => {
    const file = join(dir, 'throws.ts');
    writeFileSync(
      file,
      'interface Page {\n  gpa: bigint;\n}\n\nfunction page(n: number): Page {\n  return { gpa: BigInt(n) };\n}\n\nexport default function guest(): void {\n  page(4096.5);\n}\n',
    );
    const r = await run('run', '--guest', file);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      [
        'pvlab-host: the guest program threw on vCPU 0: RangeError: The number 4096.5 cannot be converted to a BigInt because it is not an integer',
        `    at page (${file}:6:17)`,
        `    at guest (${file}:10:3)`,
        '',
      ].join('\n'),
    );
  }, 30_000);

  it('a TypeScript guest that does not build is one line with its place, exit 2, nothing left behind', async () => {
    const file = join(dir, 'broken.ts');
    writeFileSync(file, 'export default function (cpu: unknown) {\n  const x: number = ;\n}\n');
    const before = guestBuilds();
    const r = await run('run', '--guest', file);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`pvlab-host: ${file}:2:21: cannot build the guest program: Unexpected ";"\n`);
    expect([...guestBuilds()].filter((n) => !before.has(n))).toEqual([]);
  }, 30_000);
});
