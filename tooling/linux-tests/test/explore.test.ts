// Issue 17's third find-it case, the other way round: Linux's per-CPU bring-up
// (guests/cpu-up.c: hv_common_cpu_init from the tree, IPIs in flight through hv_apic.c) explored
// by `pvlab-host explore` over 2,000 seeds with each strategy must find nothing: a lost IPI
// would leave a CPU halted (a deadlock), a broken hypercall a failure or a diagnostic.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPvlabHost } from '@pvlab/host-emulator';
import { describe, expect, it } from 'vitest';
import { linux } from '../src/suite.ts';

const RUNS = 2000;

describe.skipIf(linux === null)('explore: Linux bring-up with IPIs in flight', () => {
  for (const strategy of ['random', 'pct'] as const) {
    it(`${RUNS} ${strategy} runs on 4 vCPUs: none fails`, { timeout: 60 * 60_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pvlab-linux-explore-'));
      try {
        let out = '';
        let err = '';
        const code = await runPvlabHost(
          [
            'explore',
            '--guest',
            linux!.guests['cpu-up'],
            '--guest-arg',
            'rounds=4',
            '--vcpus',
            '4',
            '--count',
            String(RUNS),
            '--strategy',
            strategy,
            '--out',
            dir,
            '--json',
          ],
          { out: (s) => (out += s), err: (s) => (err += s) },
        );
        expect(err).toBe('');
        const summary = JSON.parse(out) as { runs: number; failed: number; groups: unknown[] };
        expect(summary).toMatchObject({ runs: RUNS, failed: 0, groups: [] });
        expect(code).toBe(0);
        const runs = readFileSync(join(dir, 'runs.jsonl'), 'utf8').trim().split('\n');
        expect(runs).toHaveLength(RUNS);
        // Every run made real decisions: the schedules differ, so this was a search.
        const decisions = runs.map((l) => (JSON.parse(l) as { decisions: number }).decisions);
        expect(Math.min(...decisions)).toBeGreaterThan(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
