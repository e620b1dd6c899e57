import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { classifyRun, messageSignature } from '../src/explore/classify.ts';
import { parseSeedRange, parseShard, shardSeeds } from '../src/explore/options.ts';
import { UsageError } from '../src/run-inputs.ts';

describe('explore flags', () => {
  test.prop([fc.nat(2000), fc.nat(2000), fc.integer({ min: 1, max: 9 })])(
    'the shards of A..B take every seed exactly once, each shard every n-th from A + i',
    (a, len, n) => {
      const from = a;
      const to = a + len;
      const shards = Array.from({ length: n }, (_, index) => shardSeeds(from, to, { index, count: n }));
      expect(shards.flat().sort((x, y) => x - y)).toEqual(
        Array.from({ length: len + 1 }, (_, i) => from + i),
      );
      shards.forEach((seeds, i) => {
        for (const s of seeds) expect((s - from) % n).toBe(i);
      });
    },
  );

  test.prop([fc.string()])('--seeds and --shard take any text: a range, or a UsageError', (text) => {
    for (const parse of [() => parseSeedRange(text), () => parseShard(text, {})]) {
      try {
        parse();
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        expect((e as Error).message).not.toContain('\n');
      }
    }
  });

  it('reads --seeds A..B with both ends, and --shard i/n or auto/n', () => {
    expect(parseSeedRange('3..7')).toEqual({ from: 3, to: 7 });
    expect(parseSeedRange('0..4294967295')).toEqual({ from: 0, to: 0xffff_ffff });
    expect(() => parseSeedRange('0..4294967296')).toThrow(UsageError);
    expect(parseShard('0/1', {})).toEqual({ index: 0, count: 1 });
    expect(parseShard('auto/4', { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('auto/4', { JOB_COMPLETION_INDEX: '4' })).toThrow(
      "--shard 'auto/4': shard index 4 is not below the shard count 4",
    );
    expect(() => parseShard('auto/4', { JOB_COMPLETION_INDEX: 'x' })).toThrow("JOB_COMPLETION_INDEX is 'x'");
    expect(() => parseShard('1/0', {})).toThrow(UsageError);
  });
});

describe('classifyRun', () => {
  it('passes a run without failures or diagnostics', () => {
    expect(classifyRun([], [])).toEqual({ passed: true, messages: [] });
  });

  it.each([
    [
      'run',
      'deadlock: vCPU 0, 1 halted with no interrupt pending, and no vCPU left to wake them',
      'deadlock',
    ],
    ['run', 'limit: the run made 40 exits without ending', 'limit'],
    ['run', 'vCPU 2 thread exited with code 1', 'host'],
    ['program', 'AssertionError [ERR_ASSERTION]: 1 == 2', 'assertion'],
    ['program', '#GP: read of unknown MSR 0x400000ff in read_missing_msr', 'guest-failure'],
  ] as const)('a %s failure %j is %s', (kind, message, cls) => {
    const v = classifyRun([{ kind, message, vps: [0] }], []);
    expect(v.passed).toBe(false);
    expect(v.failureClass).toBe(cls);
    expect(v.messages).toEqual([message]);
  });

  it('a conformance diagnostic fails the run; the most specific class names it, every failure signs it', () => {
    const v = classifyRun(
      [{ kind: 'program', message: 'lost IPI: CPU 0 → CPU 1 (vector 0xc0, seq 1)', vps: [0] }],
      [{ rule: 'tlfs.x', vp: 2, message: 'RsvdZ 0x10 set' }],
    );
    expect(v.failureClass).toBe('guest-failure');
    expect(v.signature).toBe(
      'diagnostic: [tlfs.x] RsvdZ # set | guest-failure: lost IPI: CPU # → CPU # (vector #, seq #)',
    );
  });

  it('a message that lists instances a line each signs as each distinct line once', () => {
    const two = 'lost IPI: CPU 0 → CPU 1 (seq 1)\nlost IPI: CPU 2 → CPU 3 (seq 5)';
    const one = 'lost IPI: CPU 1 → CPU 2 (seq 3)';
    expect(messageSignature(two)).toBe(messageSignature(one));
    expect(messageSignature('a 1\nb 2\na 3')).toBe('a #\nb #');
  });
});

describe('runGuest: schedule and maxExits', () => {
  it('need a seed, and maxExits a positive integer (RangeError before anything runs)', async () => {
    const { createVm, runGuest } = await import('../src/index.ts');
    const { randomStrategy } = await import('../src/explore/strategy.ts');
    const vm = createVm({ vcpus: 1 });
    try {
      const guest = new URL('./guests/spin-wait.mjs', import.meta.url);
      await expect(runGuest(vm, { guest, schedule: randomStrategy(1) })).rejects.toThrow(
        'runGuest: a schedule needs a seed',
      );
      await expect(runGuest(vm, { guest, maxExits: 5 })).rejects.toThrow('runGuest: maxExits needs a seed');
      await expect(runGuest(vm, { guest, seed: 1, maxExits: 0 })).rejects.toThrow(
        'runGuest: maxExits 0 is not a positive integer',
      );
    } finally {
      vm.close();
    }
  });
});
