/**
 * `pvlab-host explore` end to end, in this process: it finds the guest-emulator's VP-index bug
 * with either strategy, shrinks it to a schedule that `run --schedule` replays to the same
 * failure, classes deadlocks and livelocks by their budgets, splits seeds over shards whose union
 * is the whole campaign, and refuses bad input before writing anything.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guest, run } from './cli-harness.ts';

const dirs: string[] = [];
const outDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'pvlab-explore-'));
  dirs.push(d);
  return join(d, 'out');
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const jsonLines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

// Worker start-up dominates a run (tens of ms each on a busy 2-core machine): generous timeouts.
const LONG = 240_000;

describe('pvlab-host explore', () => {
  for (const strategy of ['random', 'pct'] as const) {
    it(
      `finds the lost-IPI bug (vp-index-bug=1) with ${strategy}, shrinks it, and run --schedule replays it`,
      async () => {
        const out = outDir();
        // PCT's change points fall in bring-up (where the bug is) only with k bounded to it: the
        // calibrated k (every decision of a run, ~4,400) makes a one-decision window ~1/k likely.
        const depth = strategy === 'pct' ? ['--depth', '2', '--steps', '100'] : [];
        const count = strategy === 'pct' ? 40 : 6;
        const r = await run(
          'explore',
          '--vcpus',
          '4',
          '--guest-arg',
          'vp-index-bug=1',
          '--count',
          String(count),
          '--strategy',
          strategy,
          ...depth,
          '--shrink-runs',
          '25',
          '--out',
          out,
        );
        expect(r.code).toBe(1);
        expect(r.out).toMatch(new RegExp(`^${count} runs .*: \\d+ failed`));
        const groups = jsonLines(join(out, 'groups.jsonl'));
        const lost = groups.find((g) => String(g.message).startsWith('lost IPI'));
        expect(lost).toBeDefined();
        const g = lost as {
          seed: number;
          original: { preemptions: number };
          minimized: { preemptions: number; runs: number };
          files: { schedule: string; trace: string };
        };
        expect(g.minimized.runs).toBeLessThanOrEqual(25);
        expect(g.minimized.preemptions).toBeLessThanOrEqual(g.original.preemptions);
        expect(existsSync(g.files.trace)).toBe(true);
        const schedule = JSON.parse(readFileSync(g.files.schedule, 'utf8'));
        expect(schedule).toMatchObject({
          format: 'pvlab-schedule',
          version: 1,
          vcpus: 4,
          strategy,
          seed: g.seed,
        });
        expect(jsonLines(join(out, 'runs.jsonl')).map((x) => x.seed)).toEqual([...Array(count).keys()]);

        const replay = await run('run', '--schedule', g.files.schedule, '--json');
        expect(replay.code).toBe(1);
        expect(replay.err).toMatch(/lost IPI/);
        expect(replay.err).not.toMatch(/left the schedule/);
      },
      LONG,
    );
  }

  it(
    'classes a deadlock and a run out of its exit budget (limit), without wall time',
    async () => {
      const dead = await run(
        'explore',
        '--guest',
        guest('deadlock.mjs'),
        '--vcpus',
        '2',
        '--count',
        '2',
        '--out',
        outDir(),
      );
      expect(dead.code).toBe(1);
      expect(dead.out).toMatch(/1\. deadlock: deadlock: vCPU 0, 1 halted/);
      expect(dead.out).toMatch(/2 run\(s\), smallest seed 0/);
      const limit = await run(
        'explore',
        '--guest',
        guest('hypercalls-forever.mjs'),
        '--count',
        '1',
        '--max-exits',
        '40',
        '--out',
        outDir(),
      );
      expect(limit.code).toBe(1);
      expect(limit.out).toMatch(/1\. limit: limit: the run made 40 exits without ending/);
    },
    LONG,
  );

  it(
    'a guest that passes: exit 0, every run in runs.jsonl, no groups',
    async () => {
      const out = outDir();
      const r = await run(
        'explore',
        '--guest',
        guest('spin-wait.mjs'),
        '--vcpus',
        '2',
        '--count',
        '3',
        '--out',
        out,
        '--json',
      );
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.out);
      expect(summary).toMatchObject({ runs: 3, failed: 0, strategy: 'random', groups: [] });
      expect(jsonLines(join(out, 'runs.jsonl')).every((x) => x.passed === true)).toBe(true);
      expect(readFileSync(join(out, 'groups.jsonl'), 'utf8')).toBe('');
    },
    LONG,
  );

  it(
    'shards split the seeds; explore merge gives the unsharded runs and groups, seed for seed',
    async () => {
      const flags = [
        '--vcpus',
        '4',
        '--guest-arg',
        'vp-index-bug=1',
        '--seeds',
        '3..7',
        '--shrink-runs',
        '4',
      ];
      const whole = outDir();
      expect((await run('explore', ...flags, '--out', whole)).code).toBe(1);
      const parts = [outDir(), outDir()];
      const first = await run('explore', ...flags, '--shard', '0/2', '--out', parts[0]!);
      expect(first.err).toBe('');
      const saved = process.env.JOB_COMPLETION_INDEX;
      process.env.JOB_COMPLETION_INDEX = '1';
      try {
        const second = await run('explore', ...flags, '--shard', 'auto/2', '--out', parts[1]!);
        expect(second.err).toBe('');
      } finally {
        if (saved === undefined) delete process.env.JOB_COMPLETION_INDEX;
        else process.env.JOB_COMPLETION_INDEX = saved;
      }
      const shards = parts.map((p) => jsonLines(join(p, 'runs.jsonl')));
      expect(shards.map((s) => s.map((x) => x.seed))).toEqual([
        [3, 5, 7],
        [4, 6],
      ]);

      // Explore's runs reuse pooled vCPU threads; run --seed starts its own: the same run.
      const alone = await run(
        'run',
        '--vcpus',
        '4',
        '--guest-arg',
        'vp-index-bug=1',
        '--seed',
        '6',
        '--json',
      );
      const six = JSON.parse(alone.out) as { hypercalls: number; failures: { message: string }[] };
      const pooled = jsonLines(join(whole, 'runs.jsonl')).find((x) => x.seed === 6)!;
      expect(pooled.hypercalls).toBe(six.hypercalls);
      expect(pooled.message).toBe(six.failures[0]!.message);

      const merged = outDir();
      const m = await run('explore', 'merge', ...parts, '--out', merged);
      expect(m.code).toBe(1);
      expect(jsonLines(join(merged, 'runs.jsonl'))).toEqual(jsonLines(join(whole, 'runs.jsonl')));
      const withoutFiles = (dir: string) => jsonLines(join(dir, 'groups.jsonl')).map(({ files, ...g }) => g);
      const groups = withoutFiles(whole);
      expect(groups.length).toBeGreaterThan(0);
      expect(withoutFiles(merged)).toEqual(groups);
      for (const g of jsonLines(join(merged, 'groups.jsonl'))) {
        const files = g.files as { schedule: string };
        expect(files.schedule.startsWith(merged)).toBe(true);
        expect(readFileSync(files.schedule, 'utf8')).toBe(
          readFileSync(files.schedule.replace(merged, whole), 'utf8'),
        );
      }
      const twice = await run('explore', 'merge', parts[0]!, parts[0]!, '--out', outDir());
      expect(twice.code).toBe(2);
      expect(twice.err).toMatch(/^pvlab-host: explore merge: seed 3 is in both/);
    },
    LONG,
  );

  it.each([
    [['--shard', '2/2'], /^pvlab-host: --shard '2\/2': shard index 2 is not below the shard count 2\n$/],
    [['--seeds', '5..1'], /^pvlab-host: --seeds '5\.\.1': expected A\.\.B with 0 ≤ A ≤ B ≤ 4294967295/],
    [['--seeds', '0..3', '--count', '4'], /^pvlab-host: --seeds 0\.\.3 and --count 4: give one of them\n$/],
    [['--depth', '2'], /^pvlab-host: --depth: only with --strategy pct\n$/],
    [['--strategy', 'dfs'], /^pvlab-host: option '--strategy <name>' argument 'dfs' is invalid/],
    [['--count', '0'], /^pvlab-host: .*'0' is not a run count: use an integer from 1/],
    [['--shard', 'auto/3'], /^pvlab-host: --shard auto\/3: JOB_COMPLETION_INDEX is not set/],
  ])('refuses %j with one line and exit 2, writing nothing', async (flags, message) => {
    const saved = process.env.JOB_COMPLETION_INDEX;
    delete process.env.JOB_COMPLETION_INDEX;
    const out = outDir();
    try {
      const r = await run('explore', ...flags, '--out', out);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    } finally {
      if (saved !== undefined) process.env.JOB_COMPLETION_INDEX = saved;
    }
  });
});

describe('pvlab-host run --schedule', () => {
  it('refuses a file that is not a schedule, and flags that contradict it, with exit 2', async () => {
    const d = mkdtempSync(join(tmpdir(), 'pvlab-schedule-'));
    dirs.push(d);
    const bad = join(d, 'bad.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(bad, '{"format":"something-else"}');
    const r = await run('run', '--schedule', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^pvlab-host: .*bad\.json.*format/);
    const good = join(d, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({
        format: 'pvlab-schedule',
        version: 1,
        vcpus: 2,
        strategy: 'random',
        seed: 4,
        choices: [],
      }),
    );
    const clash = await run('run', '--schedule', good, '--vcpus', '3');
    expect(clash.code).toBe(2);
    expect(clash.err).toBe(
      `pvlab-host: --vcpus 3: the schedule '${good}' was recorded with 2 (leave --vcpus out or give that)\n`,
    );
    const missing = await run('run', '--schedule', join(d, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^pvlab-host: --schedule '.*nope\.json': cannot read it \(ENOENT\)\n$/);
  });
});
