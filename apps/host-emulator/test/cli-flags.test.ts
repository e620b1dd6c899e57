import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runPvlabHost } from '../src/index.ts';
import { guest, run } from './cli-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'pvlab-cli-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface InfoJson {
  options: { memoryBytes: number; tlbFlush: string; maxRepsPerCall: number; isolation?: object };
  packages: string[];
  features: string[];
  hypercalls: { name: string }[];
}

describe('pvlab-host: one prefix for every error, and --version', () => {
  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(
      readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8'),
    ) as { version: string };
    const r = await run('--version');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${version}\n`);
  });

  it.each([
    [['bogus'], "pvlab-host: unknown command 'bogus'\n"],
    [['demo', '--bogus'], "pvlab-host: unknown option '--bogus'\n"],
    [['run', '--guest'], "pvlab-host: option '--guest <file>' argument missing\n"],
    [
      ['run', '--vcpus', '0'],
      "pvlab-host: option '--vcpus <n>' argument '0' is invalid. '0' is not a vCPU count: use an integer from 1 to 4096\n",
    ],
    [
      ['info', '--arch', 'mips'],
      "pvlab-host: option '--arch <arch>' argument 'mips' is invalid. Allowed choices are x64, arm64.\n",
    ],
  ])('%j: commander errors start with pvlab-host:', async (argv, line) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(line);
  });
});

it('an error that is no user error (a bug, a broken stream) is still prefixed: exit 70', async () => {
  let err = '';
  const code = await runPvlabHost(['info'], {
    out: () => {
      throw new Error('stdout is gone');
    },
    err: (s) => (err += s),
  });
  expect(code).toBe(70);
  expect(err).toMatch(/^pvlab-host: internal error: Error: stdout is gone\n {4}at /);
});

describe('pvlab-host: the VM flags reach createVm', () => {
  it('info --json shows the VM the flags make: features, packages, memory, TLB flush, reps, isolation', async () => {
    const plain = JSON.parse((await run('info', '--json')).out) as InfoJson;
    expect(plain.features).toContain('AccessVsm');
    expect(plain.packages).toContain('vmbus-ring');
    const r = await run(
      'info',
      '--json',
      '--feature',
      'AccessVsm=off',
      '--feature',
      'TranslateGvaFlags=on',
      '--without',
      'vmbus-ring',
      '--memory',
      '64M',
      '--tlb-flush',
      'kvm-fifo',
      '--max-reps-per-call',
      '16',
      '--isolation',
      '40',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out) as InfoJson;
    expect(info.features).not.toContain('AccessVsm');
    expect(info.features).toContain('TranslateGvaFlags');
    expect(info.packages).not.toContain('vmbus-ring');
    expect(info.packages).toContain('isolation');
    expect(info.hypercalls.map((h) => h.name)).not.toContain('HvCallPostMessage');
    expect(info.options).toMatchObject({
      memoryBytes: 64 * 1024 * 1024,
      tlbFlush: 'kvm-fifo',
      maxRepsPerCall: 16,
      isolation: { sharedGpaBoundaryBits: 40 },
    });
  });

  it('info prints the VM line and aligned tables (long call names included)', async () => {
    const r = await run('info', '--memory', '32M');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^VM: x64, 1 vCPU, 33554432 bytes of RAM, tlbFlush precise, maxRepsPerCall 4095$/m);
    const section = (title: string) => {
      const lines = r.out.split('\n');
      const start = lines.indexOf(title) + 1;
      const end = lines.findIndex((l, i) => i >= start && l === '');
      return lines.slice(start, end === -1 ? undefined : end);
    };
    const calls = section('hypercalls:');
    expect(calls.some((l) => l.includes('HvCallFlushVirtualAddressSpaceEx'))).toBe(true);
    // Every column starts at the same place on every row.
    for (const marker of ['fast=', 'gate: ']) {
      expect(new Set(calls.map((l) => l.indexOf(marker))).size).toBe(1);
    }
    const features = section('exposed features:');
    expect(new Set(features.map((l) => l.indexOf('CPUID'))).size).toBe(1);
  });

  it('run passes the flags to the VM the guest program sees', async () => {
    const r = await run(
      'run',
      '--guest',
      guest('vm-shape.mjs'),
      '--memory',
      '8M',
      '--feature',
      'AccessVpIndex=off',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const [shape] = (
      JSON.parse(r.out) as { reports: { shape: { memoryBytes: number; featuresEax: number } }[] }
    ).reports;
    expect(shape!.shape.memoryBytes).toBe(8 * 1024 * 1024);
    expect(shape!.shape.featuresEax & (1 << 6)).toBe(0); // AccessVpIndex: EAX bit 6
  }, 30_000);

  it('run --save keeps the flags in the snapshot options', async () => {
    const snap = join(dir, 'flags.snapshot.json');
    const r = await run(
      'run',
      '--guest',
      guest('vm-shape.mjs'),
      '--tlb-flush',
      'kvm-fifo',
      '--max-reps-per-call',
      '7',
      '--without',
      'vtl',
      '--save',
      snap,
      '--json',
    );
    expect(r.code).toBe(0);
    const { options } = JSON.parse(readFileSync(snap, 'utf8')) as {
      options: { tlbFlush: string; maxRepsPerCall: number; packages: Record<string, boolean> };
    };
    expect(options).toMatchObject({ tlbFlush: 'kvm-fifo', maxRepsPerCall: 7, packages: { vtl: false } });
    const again = await run('run', '--restore', snap, '--guest', guest('vm-shape.mjs'), '--without', 'vtl');
    expect(again.code).toBe(2);
    expect(again.err).toBe(
      "pvlab-host: --without: a restored VM keeps the snapshot's settings (leave them out with --restore)\n",
    );
  }, 30_000);

  it.each([
    [
      ['info', '--feature', 'Bogus=off'],
      /^pvlab-host: option '--feature <name=on\|off>' argument 'Bogus=off' is invalid\. 'Bogus' is not a feature: accepted: AccessHypercallMsrs, /,
    ],
    [['info', '--feature', 'AccessVsm'], /'AccessVsm': expected NAME=on or NAME=off/],
    [
      ['run', '--without', 'core'],
      /'core' is not a package that can be left out: accepted: tlb-ipi, vtl, vmbus-ring, pv-time/,
    ],
    [['run', '--memory', '5000'], /'5000' is not a memory size: use a multiple of 4 KiB from 4K to 4G/],
    [['run', '--memory', '8G'], /'8G' is not a memory size/],
    [['run', '--tlb-flush', 'lazy'], /argument 'lazy' is invalid\. Allowed choices are precise, kvm-fifo/],
    [['run', '--max-reps-per-call', '4096'], /'4096' is not a rep count: use an integer from 1 to 4095/],
    [
      ['run', '--memory', '1M'],
      /^pvlab-host: --memory 1048576: the guest-emulator needs at least \d+ bytes for 1 vCPUs/,
    ],
    [
      ['info', '--arch', 'arm64', '--tlb-flush', 'kvm-fifo'],
      /^pvlab-host: createVm option tlbFlush = 'kvm-fifo': is an x64 option/,
    ],
  ])('%j is a one-line error with exit code 2', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });
});
