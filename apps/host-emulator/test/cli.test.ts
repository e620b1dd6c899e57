import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { example, guest, run } from './cli-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'pvlab-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pvlab-host', () => {
  it('--help lists the commands and exits 0', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: pvlab-host/);
    for (const command of ['run', 'demo', 'info']) expect(r.out).toContain(command);
  });

  it('run --help documents the flags', async () => {
    const r = await run('run', '--help');
    expect(r.code).toBe(0);
    for (const flag of ['--vcpus', '--guest', '--seed', '--trace', '--json', '--timeout'])
      expect(r.out).toContain(flag);
  });

  it('run --save writes a snapshot that run --restore resumes from (guests see cpu.restored)', async () => {
    const snap1 = join(dir, 'boot1.snapshot.json');
    const snap2 = join(dir, 'boot2.snapshot.json');
    const first = await run(
      'run',
      '--vcpus',
      '3',
      '--seed',
      '4',
      '--guest',
      guest('resume-counter.mjs'),
      '--json',
      '--save',
      snap1,
    );
    expect(first.code).toBe(0);
    const firstReport = JSON.parse(first.out) as {
      reports: { boots: number; restored: boolean }[];
      snapshot: string;
    };
    expect(firstReport.reports.map((r) => r.boots)).toEqual([1, 1, 1]);
    expect(firstReport.snapshot).toBe(snap1);
    const snapshot = JSON.parse(readFileSync(snap1, 'utf8')) as {
      format: string;
      parts: Record<string, unknown>;
    };
    expect(snapshot.format).toBe('pvlab-vm-snapshot');
    expect(Object.keys(snapshot.parts)).toContain('vcpu/2');

    const second = await run(
      'run',
      '--restore',
      snap1,
      '--guest',
      guest('resume-counter.mjs'),
      '--json',
      '--save',
      snap2,
    );
    expect(second.err).toBe('');
    expect(second.code).toBe(0);
    const secondReport = JSON.parse(second.out) as {
      vcpus: number;
      reports: { boots: number; restored: boolean }[];
    };
    expect(secondReport.vcpus).toBe(3);
    expect(secondReport.reports).toEqual([0, 1, 2].map(() => ({ boots: 2, restored: true })));

    const third = await run('run', '--restore', snap2, '--guest', guest('resume-counter.mjs'), '--json');
    expect((JSON.parse(third.out) as { reports: { boots: number }[] }).reports.map((r) => r.boots)).toEqual([
      3, 3, 3,
    ]);
  });

  it.each([
    [['--restore', 'no-such.json'], /^pvlab-host: no-such.json: cannot read the snapshot: no such file$/m],
    [
      ['--save', '/no/such/dir/s.json'],
      /--save '\/no\/such\/dir\/s.json': directory '\/no\/such\/dir' does not exist/,
    ],
  ])('run %j refuses with one line and exit 2', async (flags, message) => {
    const r = await run('run', '--guest', guest('resume-counter.mjs'), ...flags);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('run --restore refuses a file that is not a snapshot, and a --vcpus that disagrees with it', async () => {
    const bogus = join(dir, 'bogus.json');
    writeFileSync(bogus, '{"format":"something-else"}');
    const r = await run('run', '--restore', bogus);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`pvlab-host: ${bogus}: snapshot format: expected format 'pvlab-vm-snapshot'\n`);
    const snap = join(dir, 'two.snapshot.json');
    expect(
      (await run('run', '--vcpus', '2', '--guest', guest('resume-counter.mjs'), '--json', '--save', snap))
        .code,
    ).toBe(0);
    const mismatch = await run(
      'run',
      '--restore',
      snap,
      '--vcpus',
      '3',
      '--guest',
      guest('resume-counter.mjs'),
    );
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toMatch(/--vcpus 3: the snapshot .* has 2 vCPUs/);
  });

  it('run --restore of a snapshot with a refused field prints one `pvlab-host: <file>: …` line and exits 2', async () => {
    const snap = join(dir, 'to-break.snapshot.json');
    expect((await run('run', '--vcpus', '2', '--guest', guest('spin-wait.mjs'), '--save', snap)).code).toBe(
      0,
    );
    const s = JSON.parse(readFileSync(snap, 'utf8'));
    s.parts['tlb-ipi'].data.counters.flushes = 'x'.repeat(100_000);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(s));
    const r = await run(
      'run',
      '--restore',
      bad,
      '--guest',
      guest('spin-wait.mjs'),
      '--save',
      join(dir, 'no.json'),
    );
    expect(r.code).toBe(2);
    expect(r.err.endsWith('\n')).toBe(true);
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(`pvlab-host: ${bad}: tlb-ipi.counters.flushes = "xxxx`)).toBe(true);
    expect(lines[0]!.length).toBeLessThanOrEqual('pvlab-host: '.length + 300);
    expect(existsSync(join(dir, 'no.json'))).toBe(false);

    // A part named __proto__ is refused by name, not dropped.
    const proto = join(dir, 'proto.json');
    writeFileSync(
      proto,
      JSON.stringify(JSON.parse(readFileSync(snap, 'utf8'))).replace(
        '"parts":{',
        '"parts":{"__proto__":{"version":1,"data":{}},',
      ),
    );
    const p = await run('run', '--restore', proto, '--guest', guest('spin-wait.mjs'));
    expect(p.code).toBe(2);
    expect(p.err).toBe(`pvlab-host: ${proto}: snapshot parts: the key '__proto__' is not accepted\n`);
  });

  it('run --restore refuses a VP parked in a hypercall: a guest program restarts and could not resume it', async () => {
    const snap = join(dir, 'parked.snapshot.json');
    expect((await run('run', '--vcpus', '2', '--guest', guest('spin-wait.mjs'), '--save', snap)).code).toBe(
      0,
    );
    const s = JSON.parse(readFileSync(snap, 'utf8'));
    s.parts['vcpu/0'].data.suspension = { waitingOn: 1, reason: 'TLB flush of VP 1 inhibited' };
    writeFileSync(snap, JSON.stringify(s));
    const r = await run('run', '--restore', snap, '--guest', guest('spin-wait.mjs'));
    expect(r.code).toBe(2);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(
      r.err.startsWith(
        `pvlab-host: ${snap}: vcpu/0.suspension: VP 0 is parked in a hypercall waiting on VP 1; `,
      ),
    ).toBe(true);
  });

  it('--restore, --save, --restore: a VM restored with its counters at the top saves a snapshot it reads back', async () => {
    const snap = join(dir, 'top.snapshot.json');
    expect((await run('run', '--vcpus', '2', '--guest', guest('spin-wait.mjs'), '--save', snap)).code).toBe(
      0,
    );
    const s = JSON.parse(readFileSync(snap, 'utf8'));
    s.parts['vcpu/0'].data.longSpinWaits = Number.MAX_SAFE_INTEGER;
    writeFileSync(snap, JSON.stringify(s));
    const again = join(dir, 'top-again.snapshot.json');
    const second = await run('run', '--restore', snap, '--guest', guest('spin-wait.mjs'), '--save', again);
    expect(second.err).toBe('');
    expect(second.code).toBe(0);
    const third = await run('run', '--restore', again, '--guest', guest('spin-wait.mjs'));
    expect(third.err).toBe('');
    expect(third.code).toBe(0);
  });

  it('arm64: a VM restored with a run delay near 2^64 keeps running and saving', async () => {
    const snap = join(dir, 'arm64.snapshot.json');
    expect((await run('run', '--arch', 'arm64', '--vcpus', '2', '--save', snap)).code).toBe(0);
    const s = JSON.parse(readFileSync(snap, 'utf8'));
    for (const v of Object.values(s.parts['pv-time'].data.vcpus) as { runDelayNs: string }[])
      v.runDelayNs = '0xfffffffffffffff0';
    writeFileSync(snap, JSON.stringify(s));
    const again = join(dir, 'arm64-again.snapshot.json');
    const r = await run('run', '--restore', snap, '--save', again);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect((await run('run', '--restore', again)).code).toBe(0);
  });

  it('run --save writes no snapshot when the guest would not load', async () => {
    const snap = join(dir, 'never.snapshot.json');
    const r = await run('run', '--guest', guest('throws.mjs'), '--save', snap);
    expect(r.code).toBe(2);
    expect(existsSync(snap)).toBe(false);
  });

  it('get_vtl on every CPU: the fixed layout passes and prints VTL 0; the 2023 overlap bug exits 1 with the conformance diagnostic', async () => {
    const fixed = await run('run', '--vcpus', '2', '--seed', '3', '--guest-arg', 'workload=none');
    expect(fixed.code).toBe(0);
    expect(fixed.out).toMatch(/CPU1: online, VP index 1, .*, VTL 0/);
    expect(fixed.out).toMatch(/^times are virtual: the seeded scheduler counts each exit/m);
    const bug = await run(
      'run',
      '--vcpus',
      '2',
      '--seed',
      '3',
      '--guest-arg',
      'workload=none',
      '--guest-arg',
      'get-vtl=overlap-bug',
    );
    expect(bug.code).toBe(1);
    expect(bug.err).toMatch(
      /conformance \[spec01\.rule6\.overlap\] VP 1: input list \[0x112000, \+20\) overlaps output list \[0x112000, \+16\)/,
    );
  });

  it('demo runs the VTL1 scenario: VtlCall, the TLB lock, a flush that waits for it, VtlReturn', async () => {
    const r = await run('demo', '--seed', '5', '--trace', join(dir, 'vtl-demo.json'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('vtl: CPU1 VtlCall → VTL 1, TLB locked for 4 points, VtlReturn → VTL 0');
    expect(r.out).toMatch(
      /vtl: CPU0's flush of CPU1 (waited for CPU1's VTL1 TLB lock, then completed|came after the lock was released)/,
    );
    expect(r.out).toMatch(/HvCallVtlCall\s+1\s/);
  });

  it('demo boots the guest-emulator on 4 vCPU threads, prints the boot log, the summary and the trace path', async () => {
    const trace = join(dir, 'demo.json');
    const r = await run('demo', '--trace', trace);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const cpu of [0, 1, 2, 3]) expect(r.out).toContain(`CPU${cpu}: online, VP index ${cpu}`);
    expect(r.out).toContain('smp: Brought up 4 CPUs');
    expect(r.out).toMatch(/HvCallNotifyLongSpinWait\s+16\s+SUCCESS×16/);
    expect(r.out).toContain(`trace: ${trace}`);
    const parsed = JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: { ph: string; name: string }[] };
    const threads = parsed.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name');
    expect(threads).toHaveLength(4);
  });

  it('run --json prints one JSON report', async () => {
    const r = await run('run', '--vcpus', '2', '--seed', '1', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { passed: boolean; vcpus: number; hypercalls: number; seed: number };
    expect(report).toMatchObject({
      passed: true,
      vcpus: 2,
      seed: 1,
      hypercalls: 1050,
      times: { clock: 'virtual' },
    });
    // Every call that did not succeed, each with the reason the host chose its status.
    const failed = (report as unknown as { failedCalls: { status: string; reason: string }[] }).failedCalls;
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed)
      expect(f).toMatchObject({ status: expect.not.stringMatching(/SUCCESS/), reason: expect.any(String) });
  });

  it('the same seed writes identical traces, timestamps included; another seed differs', async () => {
    const traces = await Promise.all(
      ['a', 'b', 'c'].map(async (name, i) => {
        const path = join(dir, `${name}.json`);
        const r = await run('run', '--vcpus', '4', '--seed', i < 2 ? '42' : '43', '--trace', path);
        expect(r.code).toBe(0);
        return readFileSync(path, 'utf8');
      }),
    );
    expect(traces[0]).toBe(traces[1]);
    expect(traces[0]).not.toBe(traces[2]);
  }, 60_000);

  it('a passing guest program from examples/ exits 0', async () => {
    const r = await run('run', '--vcpus', '3', '--guest', example('ipi-ping-pong.mjs'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('a failing guest exits 1 with its message on one line, and still writes its trace', async () => {
    const trace = join(dir, 'failing.json');
    const r = await run('run', '--vcpus', '2', '--guest', guest('fails.mjs'), '--trace', trace);
    expect(r.code).toBe(1);
    expect(r.err).toBe('pvlab-host: guest failed on vCPU 1: vCPU 1 expected VP index 7, read 1\n');
    expect(existsSync(trace)).toBe(true);
  });

  it('a guest program that throws (a bug in the program) exits 2 naming the exception', async () => {
    const r = await run('run', '--guest', guest('throws.mjs'));
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `pvlab-host: the guest program threw on vCPU 0: TypeError: Cannot read properties of undefined (reading '0')\n    at guest (${guest('throws.mjs')}:4:15)\n`,
    );
  });

  it('an unhandled fault is a failing guest: exit 1', async () => {
    const r = await run('run', '--guest', guest('unhandled-gp.mjs'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^pvlab-host: guest failed on vCPU 0: GuestFault: #GP: read of unknown MSR 0x400000ff\n {4}at guest \(.*unhandled-gp\.mjs:3:7\)\n$/,
    );
  });

  it.each([
    [['run', '--guest', 'no/such/guest.mjs'], /--guest 'no\/such\/guest.mjs': no such file/],
    [['run', '--guest', '.'], /not a file/],
    [
      ['run', '--trace', '/no/such/dir/t.json'],
      /--trace '\/no\/such\/dir\/t.json': directory '\/no\/such\/dir' does not exist/,
    ],
    [['run', '--vcpus', '0'], /'0' is not a vCPU count: use an integer from 1 to 4096/],
    [['run', '--seed', '-1'], /'-1' is not a seed/],
    [['run', '--seed', 'x'], /'x' is not a seed/],
    [['demo', '--bogus'], /unknown option '--bogus'/],
    [['bogus'], /unknown command 'bogus'/],
  ])('%j is a one-line error with exit code 2', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a guest file that does not load exits 2 with one line and writes no trace', async () => {
    const broken = join(dir, 'broken.mjs');
    writeFileSync(broken, 'export default function (cpu) { this is not javascript }\n');
    const trace = join(dir, 'broken-trace.json');
    const r = await run('run', '--vcpus', '2', '--guest', broken, '--trace', trace);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `pvlab-host: ${broken}:1:38: cannot load the guest program: SyntaxError: Unexpected identifier 'is'\n`,
    );
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    expect(existsSync(trace)).toBe(false);
  });

  it('a guest module without a default export exits 2', async () => {
    const noDefault = join(dir, 'no-default.mjs');
    writeFileSync(noDefault, 'export const x = 1;\n');
    const r = await run('run', '--guest', noDefault);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no default export function/);
  });

  it('--guest-arg key=value reaches the guest as cpu.args', async () => {
    const r = await run(
      'run',
      '--guest',
      guest('echo-args.mjs'),
      '--guest-arg',
      'mode=bug',
      '--guest-arg',
      'x=a=b',
      '--json',
    );
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { reports: unknown[] }).reports).toEqual([
      { args: { mode: 'bug', x: 'a=b' } },
    ]);
  });

  it("--guest-arg without '=' is a one-line error", async () => {
    const r = await run('run', '--guest', guest('echo-args.mjs'), '--guest-arg', 'mode');
    expect(r.code).toBe(2);
    expect(r.err).toBe("pvlab-host: --guest-arg 'mode': expected key=value\n");
  });

  it('info shows the CPUID leaves, features and hypercalls', async () => {
    const r = await run('info');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/0x40000001\s+0x31237648/);
    expect(r.out).toMatch(/AccessHypercallMsrs\s+CPUID 0x40000003 EAX bit 5/);
    expect(r.out).toMatch(/0x0008\s+HvCallNotifyLongSpinWait/);
  });
});
