import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RunInterrupted, runPvlabHost } from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'pvlab-interrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const forever = fileURLToPath(new URL('./guests/hypercalls-forever.mjs', import.meta.url));

/**
 * Runs `pvlab-host run` on a guest that never ends and aborts it as the bin does on a signal,
 * once the guest has logged that it runs. `--timeout` only bounds a run that ignores the abort.
 */
async function interruptedRun(signal: 'SIGINT' | 'SIGTERM', ...argv: string[]) {
  const controller = new AbortController();
  let out = '';
  let err = '';
  const code = await runPvlabHost(['run', '--guest', forever, '--timeout', '20000', ...argv], {
    out: (s) => {
      out += s;
      if (out.includes('guest: running until stopped')) controller.abort(new RunInterrupted(signal));
    },
    err: (s) => (err += s),
    interrupt: controller.signal,
  });
  return { code, out, err };
}

describe('an interrupted run', () => {
  it('SIGINT: exit 130, one line saying what was not written, no --save or --trace file', async () => {
    const save = join(dir, 'int.snapshot.json');
    const trace = join(dir, 'int.trace.json');
    const r = await interruptedRun('SIGINT', '--vcpus', '2', '--save', save, '--trace', trace);
    expect(r.code).toBe(130);
    expect(r.err).toBe(
      `pvlab-host: interrupted by SIGINT: the run was stopped, no snapshot (--save ${save}) and no trace (--trace ${trace}) written\n`,
    );
    expect(existsSync(save)).toBe(false);
    expect(existsSync(trace)).toBe(false);
    // Not even a temporary file of an atomic write.
    expect(readdirSync(dir)).toEqual([]);
  }, 120_000);

  it('SIGTERM: exit 143, also in a seeded run (vCPUs waiting for their turn are stopped too)', async () => {
    const save = join(dir, 'term.snapshot.json');
    const r = await interruptedRun('SIGTERM', '--vcpus', '3', '--seed', '7', '--save', save);
    expect(r.code).toBe(143);
    // The boot log up to the signal, and no summary after it.
    expect(r.out).toContain('guest: running until stopped');
    expect(r.out).not.toContain('hypercalls in');
    expect(r.err).toBe(
      `pvlab-host: interrupted by SIGTERM: the run was stopped, no snapshot (--save ${save}) written\n`,
    );
    expect(readdirSync(dir)).toEqual([]);
  }, 120_000);
});
