/**
 * C guests built by pvlab-cc and run by `pvlab-host run --guest file.wasm`: the same seeds,
 * traces, timeouts, snapshots and exit codes as JavaScript guests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWasmGuest } from '@pvlab/wasm-guest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVm } from '../src/index.ts';
import { run } from './cli-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'pvlab-wasm-guests-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const require = createRequire(import.meta.url);
const pvlabCc = join(dirname(require.resolve('@pvlab/wasm-guest/package.json')), 'bin', 'pvlab-cc.mjs');
const wasm = (name: string) => join(dir, `${name}.wasm`);
const GUESTS = ['vm-tour', 'unknown-msr', 'resume-counter', 'spins-forever', 'direct-ipi', 'isolation-alias'];
/** @pvlab/wasm-guest's C examples, which its README runs with these two commands. */
const EXAMPLES = ['ipi-ping-pong', 'tlb-shootdown', 'get-vtl'];
const examplesDir = join(dirname(pvlabCc), '..', 'examples');

beforeAll(() => {
  const build = (source: string, name: string) =>
    execFileSync(process.execPath, [pvlabCc, '-O2', '-o', wasm(name), source], { stdio: 'pipe' });
  for (const name of GUESTS) build(fileURLToPath(new URL(`./guests/c/${name}.c`, import.meta.url)), name);
  for (const name of EXAMPLES) build(join(examplesDir, name, 'main.c'), name);
}, 900_000); // eight builds: ~1 s each with clang-19, 10–20 s with the npm clang

describe('pvlab-host run --guest file.wasm', () => {
  it('runs guest_main on every vCPU: log, reports, hypercalls, MSRs, --guest-arg, rdtsc', async () => {
    const r = await run(
      'run',
      '--guest',
      wasm('vm-tour'),
      '--vcpus',
      '4',
      '--seed',
      '1',
      '--guest-arg',
      'greeting=hi',
      '--json',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.passed).toBe(true);
    expect(json.reports).toEqual([0, 1, 2, 3].map((vp) => ({ vp, status: 0, tscForward: 1 })));
    expect(json.log.map((l: { line: string }) => l.line).sort()).toEqual(
      [0, 1, 2, 3].map((vp) => `vCPU ${vp} of 4 says hi`),
    );
    expect(json.summary.calls).toEqual([
      expect.objectContaining({
        call: 'HvCallFlushVirtualAddressSpace',
        count: 4,
        statuses: { HV_STATUS_SUCCESS: 4 },
      }),
    ]);
  });

  it('the same seed gives the same trace; another seed another order', async () => {
    const trace = async (seed: number) => {
      const file = join(dir, `trace-${seed}-${Math.random()}.json`);
      const r = await run(
        'run',
        '--guest',
        wasm('vm-tour'),
        '--vcpus',
        '4',
        '--seed',
        String(seed),
        '--trace',
        file,
      );
      expect(r.code).toBe(0);
      const events = (
        JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: { name: string; tid: number }[] }
      ).traceEvents;
      return JSON.stringify(events.map((e) => [e.name, e.tid]));
    };
    const a = await trace(5);
    expect(await trace(5)).toBe(a);
    expect([await trace(6), await trace(7), await trace(8)]).not.toEqual([a, a, a]);
  });

  it('a #GP ends the run as a failing guest (exit 1) naming the C function', async () => {
    const r = await run('run', '--guest', wasm('unknown-msr'), '--vcpus', '2');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/#GP: read of unknown MSR 0x400000ff in read_missing_msr ← guest_main/);
  });

  it('isolation VMs: pvlab_shared_read goes through the boundary view, which refuses a private page by its alias', async () => {
    const r = await run(
      'run',
      '--guest',
      wasm('isolation-alias'),
      '--isolation',
      '36',
      '--guest-arg',
      'boundary-bits=36',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /#MEMORY: pvlab_shared_read: guest read of GPA 0x1000005000 through the shared alias, but page 0x5 is private .* in read_through_alias ← guest_main/,
    );
  });

  it('--timeout stops a C guest spinning with pvlab_pause()', async () => {
    const r = await run('run', '--guest', wasm('spins-forever'), '--vcpus', '2', '--timeout', '200');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the run took longer than 200 ms/);
  });

  it('end-of-run snapshots: a restored VM keeps the image data and tells the guest it was restored', async () => {
    const snap = join(dir, 'counter.pvsnap');
    const first = await run(
      'run',
      '--guest',
      wasm('resume-counter'),
      '--vcpus',
      '2',
      '--json',
      '--save',
      snap,
    );
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out).reports).toEqual([
      { boots: 1, restored: 0 },
      { boots: 1, restored: 0 },
    ]);
    const second = await run('run', '--restore', snap, '--guest', wasm('resume-counter'), '--json');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out).reports).toEqual([
      { boots: 2, restored: 1 },
      { boots: 2, restored: 1 },
    ]);
  });

  it('refuses RAM that is not a multiple of 64 KiB, by name (exit 2)', async () => {
    const r = await run('run', '--guest', wasm('vm-tour'), '--memory', String(16 * 1024 * 1024 + 4096));
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/16781312/);
    expect(r.err).toMatch(/64 KiB/);
  });

  it('refuses a VM too small for its vCPUs, by name (exit 2)', async () => {
    const r = await run('run', '--guest', wasm('vm-tour'), '--vcpus', '1024');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/1024 vCPUs/);
  });

  it('refuses a file that is not a wasm module (exit 2, one line)', async () => {
    const bad = join(dir, 'not-wasm.wasm');
    writeFileSync(bad, 'int main(void) { return 0; }\n');
    const r = await run('run', '--guest', bad);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/cannot load the guest program/);
  });

  describe('the C examples, as their READMEs run them (--vcpus 4 --seed 1)', () => {
    const runExample = async (name: string) => {
      const r = await run('run', '--guest', wasm(name), '--vcpus', '4', '--seed', '1', '--json');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      return JSON.parse(r.out) as {
        reports: Record<string, number>[];
        summary: { calls: { call: string; count: number; statuses: Record<string, number> }[] };
      };
    };

    it('ipi-ping-pong: vCPU 0 gets a pong per ping, each other vCPU its pings', async () => {
      const { reports } = await runExample('ipi-ping-pong');
      expect(reports).toEqual([{ pongs: 9 }, { pings: 3 }, { pings: 3 }, { pings: 3 }]);
    });

    it('tlb-shootdown: each flush form it chose succeeded', async () => {
      const { reports, summary } = await runExample('tlb-shootdown');
      const chosen = reports[0]!;
      expect(Object.keys(chosen).length).toBeGreaterThanOrEqual(3);
      for (const c of summary.calls) {
        expect(c.statuses).toEqual({ HV_STATUS_SUCCESS: c.count });
        expect(chosen[c.call]).toBe(c.count);
      }
    });

    it('get-vtl: every vCPU reads VTL 0 with HvCallGetVpRegisters', async () => {
      const { reports, summary } = await runExample('get-vtl');
      expect(reports).toEqual([{ vtl: 0 }, { vtl: 0 }, { vtl: 0 }, { vtl: 0 }]);
      expect(summary.calls).toEqual([
        expect.objectContaining({
          call: 'HvCallGetVpRegisters',
          count: 4,
          statuses: { HV_STATUS_SUCCESS: 4 },
        }),
      ]);
    });
  });
});

describe("the direct harness: a C guest's exported functions on createVm vCPUs", () => {
  it('an IPI sent from C on vCPU 0 is delivered to the C handler of vCPU 2 at its next exit', () => {
    const vm = createVm({ vcpus: 4 });
    try {
      const guest = loadWasmGuest(readFileSync(wasm('direct-ipi')));
      const map = guest.vmMemoryMap({ ramBytes: vm.memory.size, vcpus: 4, arch: 'x64' });
      const vcpus = [0, 1, 2, 3].map((index) =>
        guest.instantiate({ cpu: vm.vp(index), index, vcpus: 4, memory: vm.ram, map }),
      );
      vcpus[0]!.call('send_ipi', 2, 0x41);
      expect(vm.vp(2).interruptPending()).toBe(true);
      expect(vcpus[1]!.call('poll')).toBe(0);
      expect(vcpus[2]!.call('poll')).toBe(0x41);
      expect(vm.vp(2).interruptPending()).toBe(false);
      expect(vcpus[2]!.call('poll')).toBe(0);
      expect(vcpus.map((v) => v.call('deliveries'))).toEqual([0, 0, 1, 0]);
    } finally {
      vm.close();
    }
  });
});
