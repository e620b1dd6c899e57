import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runPvlabHost } from '../src/index.ts';

const guest = (name: string) => fileURLToPath(new URL(`./guests/${name}`, import.meta.url));

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runPvlabHost(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

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
