import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Arm64CpuReport, guestImageUrl } from '@pvlab/guest-emulator';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createVm,
  type RunResult,
  restoreVm,
  runGuest,
  runPvlabHost,
  toChromeTrace,
  type Vm,
} from '../src/index.ts';
import { vmInternals } from '../src/vm-internals.ts';

const dir = mkdtempSync(join(tmpdir(), 'pvlab-arm64-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const RECORDS = 0xff0000n;

function arm64Vm(vcpus: number): Vm {
  const vm = createVm({ arch: 'arm64', vcpus });
  for (let i = 0; i < vcpus; i++) vm.vp(i).setStolenTimeIpa(RECORDS + BigInt(i * 64));
  return vm;
}

async function boot(vm: Vm, seed?: number, work = 50): Promise<RunResult> {
  return runGuest(vm, {
    guest: guestImageUrl(),
    args: { work: String(work) },
    ...(seed === undefined ? {} : { seed }),
  });
}

const steal = (r: RunResult) => r.reports.map((rep) => rep.steal as Arm64CpuReport);

describe('arm64 guest-emulator on vCPU threads', () => {
  it('probes PV time, sets up a steal clock per CPU and reports the steal the scheduler accounted (seeded: virtual time)', async () => {
    const vm = arm64Vm(3);
    const r = await boot(vm, 7);
    expect(r.failures).toEqual([]);
    expect(r.log.map((l) => l.line)).toContain('arm64: SMCCC v1.1, PV stolen time available (DEN0057A)');
    const reports = steal(r);
    for (const [i, rep] of reports.entries()) {
      expect(rep.stealIpa).toBe(`0x${(RECORDS + BigInt(i * 64)).toString(16)}`);
      // Three vCPUs, one running at a time: each waited while others ran.
      expect(BigInt(rep.stealNs)).toBeGreaterThan(0n);
      // The host's record agrees with what the guest read last (the guest never writes it).
      expect(vmInternals(vm).pvTimeOf('test').recordedStolenTime(i)).toBeGreaterThanOrEqual(
        BigInt(rep.stealNs),
      );
    }
    const smccc = r.events.filter((e) => e.kind === 'smccc').map((e) => e.name);
    expect(smccc.filter((n) => n === 'PV_TIME_ST')).toHaveLength(3);
    expect(r.events.some((e) => e.kind === 'steal')).toBe(true);
    const trace = toChromeTrace(r.events, { vcpus: 3, guest: 'arm64', seed: 7 });
    expect(trace.traceEvents.some((e) => e.ph === 'X' && e.cat === 'smccc' && e.name === 'PV_TIME_ST')).toBe(
      true,
    );
    vm.close();
  });

  it('the same seed accounts the same stolen time; another seed can differ', async () => {
    const runs = await Promise.all([7, 7, 8].map(async (seed) => steal(await boot(arm64Vm(3), seed))));
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).not.toEqual(runs[0]);
  });

  it('one vCPU alone is never runnable-but-waiting: no steal in a seeded run', async () => {
    const r = await boot(arm64Vm(1), 3);
    expect(steal(r)[0]?.stealNs).toBe('0');
  });

  it('parallel runs account real waits, and stolen time never decreases (the guest checks at every point)', async () => {
    const r = await boot(arm64Vm(4), undefined, 200);
    expect(r.failures).toEqual([]);
    for (const rep of steal(r)) expect(BigInt(rep.stealNs)).toBeGreaterThanOrEqual(BigInt(rep.stealStartNs));
  });

  it('resumes after save → restore without PV_TIME_ST: stolen time continues from where it was', async () => {
    const vm = arm64Vm(2);
    const first = steal(await boot(vm, 11));
    const recorded = [0, 1].map((i) => vmInternals(vm).pvTimeOf('test').recordedStolenTime(i)!);
    const snapshot = JSON.parse(JSON.stringify(vm.save()));
    vm.close();
    const resumed = restoreVm(snapshot);
    const r = await boot(resumed, 12);
    expect(r.failures).toEqual([]);
    expect(r.events.filter((e) => e.kind === 'smccc' && e.name === 'PV_TIME_ST')).toEqual([]);
    for (const [i, rep] of steal(r).entries()) {
      // The steal accounted after the guest's last read (others finishing) shows up at the first
      // run after the restore: later than the guest last saw, never earlier than the record held.
      expect(BigInt(rep.stealStartNs)).toBeGreaterThanOrEqual(recorded[i]!);
      expect(recorded[i]!).toBeGreaterThanOrEqual(BigInt(first[i]!.stealNs));
      expect(BigInt(rep.stealNs)).toBeGreaterThan(BigInt(first[i]!.stealNs));
    }
  });
});

describe('pvlab-host --arch arm64', () => {
  async function cli(...argv: string[]) {
    let out = '';
    let err = '';
    const code = await runPvlabHost(argv, { out: (s) => (out += s), err: (s) => (err += s) });
    return { code, out, err };
  }

  it('demo --arch arm64 prints the steal of every CPU, the SMCCC summary and the host view of each record', async () => {
    const r = await cli('demo', '--arch', 'arm64', '--seed', '2', '--trace', join(dir, 'arm64.json'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const cpu of [0, 1, 2, 3]) expect(r.out).toMatch(new RegExp(`CPU${cpu}: steal \\d`));
    expect(r.out).toMatch(/PV_TIME_ST\s+4\s/);
    expect(r.out).toContain('stolen time (PV_TIME record, host view)');
    expect(r.out).toMatch(/4 arm64 vCPUs, seed 2, 16 SMCCC calls/);
    const trace = JSON.parse(readFileSync(join(dir, 'arm64.json'), 'utf8')) as {
      traceEvents: { cat?: string }[];
    };
    expect(trace.traceEvents.some((e) => e.cat === 'pv-time')).toBe(true);
  });

  it('run --save / --restore on arm64 continues stolen time', async () => {
    const snap = join(dir, 'arm64.snapshot.json');
    const first = await cli(
      'run',
      '--arch',
      'arm64',
      '--vcpus',
      '2',
      '--seed',
      '1',
      '--json',
      '--save',
      snap,
    );
    expect(first.code).toBe(0);
    const before = (JSON.parse(first.out) as { stolenTimeNs: string[] }).stolenTimeNs;
    const second = await cli('run', '--restore', snap, '--seed', '2', '--json');
    expect(second.code).toBe(0);
    const report = JSON.parse(second.out) as {
      arch: string;
      stolenTimeNs: string[];
      log: { line: string }[];
    };
    expect(report.arch).toBe('arm64');
    expect(report.log.map((l) => l.line)).toContain(
      `CPU1: resumed, steal clock at IPA 0x${(RECORDS + 64n).toString(16)}`,
    );
    for (const [i, ns] of report.stolenTimeNs.entries())
      expect(BigInt(ns)).toBeGreaterThan(BigInt(before[i]!));
    const mismatch = await cli('run', '--restore', snap, '--arch', 'x64');
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toMatch(/--arch x64: the snapshot .* is of an arm64 VM/);
  });

  it('info --arch arm64 lists the SMCCC functions the conduit answers', async () => {
    const r = await cli('info', '--arch', 'arm64', '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out) as { arch: string; smccc: { id: string; name: string }[] };
    expect(info.arch).toBe('arm64');
    expect(info.smccc).toEqual([
      { id: '0x80000000', name: 'SMCCC_VERSION' },
      { id: '0x80000001', name: 'SMCCC_ARCH_FEATURES' },
      { id: '0xc5000020', name: 'PV_TIME_FEATURES' },
      { id: '0xc5000021', name: 'PV_TIME_ST' },
    ]);
  });

  it('refuses an unknown --arch with one line and exit 2', async () => {
    const r = await cli('run', '--arch', 'riscv');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /option '--arch <arch>' argument 'riscv' is invalid. Allowed choices are x64, arm64./,
    );
  });
});
