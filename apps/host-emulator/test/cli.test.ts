import { describe, expect, it } from 'vitest';
import { runPvlabHost } from '../src/index.ts';

function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = runPvlabHost(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('pvlab-host', () => {
  it('--help lists the commands and exits 0', () => {
    const r = run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: pvlab-host/);
    expect(r.out).toMatch(/demo/);
    expect(r.out).toMatch(/info/);
  });

  it('demo boots 4 vCPUs by default, prints the boot log and the summary table', () => {
    const r = run('demo');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    for (const cpu of [0, 1, 2, 3]) expect(r.out).toContain(`CPU${cpu}: online, VP index ${cpu}`);
    expect(r.out).toMatch(/HvCallNotifyLongSpinWait\s+16\s+SUCCESS×16/);
    expect(r.out).toContain('4 vCPUs booted, 0 conformance diagnostics');
  });

  it('demo --json prints one JSON report', () => {
    const r = run('demo', '--vcpus', '2', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { vcpus: number; calls: { call: string; count: number }[] };
    expect(report.vcpus).toBe(2);
    expect(report.calls).toEqual([expect.objectContaining({ call: 'HvCallNotifyLongSpinWait', count: 8 })]);
  });

  it('info shows the CPUID leaves, features and hypercalls', () => {
    const r = run('info');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/0x40000001\s+0x31237648/);
    expect(r.out).toMatch(/AccessHypercallMsrs\s+CPUID 0x40000003 EAX bit 5/);
    expect(r.out).toMatch(/0x0008 HvCallNotifyLongSpinWait/);
  });

  it.each([
    [['demo', '--vcpus', '0'], /'0' is not a vCPU count: use an integer from 1 to 4096/],
    [['demo', '--vcpus', 'four'], /'four' is not a vCPU count/],
    [['demo', '--bogus'], /unknown option '--bogus'/],
    [['bogus'], /unknown command 'bogus'/],
  ])('%j is a one-line error with exit code 2', (argv, message) => {
    const r = run(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
  });
});
