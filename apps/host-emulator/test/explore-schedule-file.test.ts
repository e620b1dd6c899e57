import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  encodeScheduleFile,
  parseScheduleFile,
  type ScheduleFile,
  ScheduleFileError,
} from '../src/explore/index.ts';
import { MAX_VCPUS } from '../src/options.ts';

const SOURCE = 'out/lost-ipi.schedule.json';

const key = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__');

const scheduleFile: fc.Arbitrary<ScheduleFile> = fc
  .record({ vcpus: fc.integer({ min: 1, max: MAX_VCPUS }), strategy: fc.constantFrom('random', 'pct') })
  .chain(({ vcpus, strategy }) =>
    fc.record(
      {
        format: fc.constant('pvlab-schedule' as const),
        version: fc.constant(1),
        vcpus: fc.constant(vcpus),
        strategy: fc.constant(strategy),
        seed: fc.integer({ min: 0, max: 0xffff_ffff }),
        depth: fc.integer({ min: 1, max: 10 }),
        steps: fc.integer({ min: 1, max: 100_000 }),
        preempt: fc.constantFrom('exits' as const, 'memory' as const),
        guest: fc.string(),
        args: fc.dictionary(key, fc.string(), { maxKeys: 4 }),
        flags: fc.dictionary(
          key,
          fc.oneof(
            fc.string(),
            fc.integer(),
            fc.boolean(),
            // JSON has no −0: it is written as 0, so −0 cannot round-trip and is no input here.
            fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
          ),
          {
            maxKeys: 4,
          },
        ),
        failure: fc.record({ class: fc.string(), signature: fc.string(), message: fc.string() }),
        preemptions: fc.nat(),
        choices: fc.array(fc.integer({ min: -1, max: vcpus - 1 }), { maxLength: 300 }),
      },
      {
        requiredKeys:
          strategy === 'pct'
            ? ['format', 'version', 'vcpus', 'strategy', 'seed', 'depth', 'steps', 'choices']
            : ['format', 'version', 'vcpus', 'strategy', 'seed', 'choices'],
      },
    ),
  );

function errorOf(text: string): string {
  try {
    parseScheduleFile(text, SOURCE);
  } catch (e) {
    expect(e).toBeInstanceOf(ScheduleFileError);
    expect((e as Error).name).toBe('ScheduleFileError');
    return (e as Error).message;
  }
  throw new Error(`accepted: ${text}`);
}

const base = {
  format: 'pvlab-schedule',
  version: 1,
  vcpus: 4,
  strategy: 'random',
  seed: 7,
  choices: [1, 0, -1, 3],
};
const withField = (change: Record<string, unknown>) => JSON.stringify({ ...base, ...change });
const without = (field: string) => JSON.stringify({ ...base, [field]: undefined });

describe('schedule file', () => {
  test.prop([scheduleFile])('encode → parse round-trips', (s) => {
    const text = encodeScheduleFile(s);
    expect(text.endsWith('}\n')).toBe(true);
    expect(parseScheduleFile(text, SOURCE)).toEqual(s);
    expect(encodeScheduleFile(parseScheduleFile(text, SOURCE))).toBe(text);
  });

  it('writes its fields in a fixed order, nested keys sorted, choices in rows', () => {
    const text = encodeScheduleFile({
      choices: Array.from({ length: 40 }, (_, i) => i % 4),
      args: { 'vp-index-bug': '1', b: 'x' },
      seed: 12,
      steps: 500,
      depth: 3,
      strategy: 'pct',
      vcpus: 4,
      version: 1,
      format: 'pvlab-schedule',
      failure: {
        message: 'lost IPI: CPU 1 → CPU 3',
        signature: 'lost IPI: CPU # → CPU #',
        class: 'guest failure',
      },
    });
    expect(text).toBe(
      [
        '{',
        '  "format": "pvlab-schedule",',
        '  "version": 1,',
        '  "vcpus": 4,',
        '  "strategy": "pct",',
        '  "seed": 12,',
        '  "depth": 3,',
        '  "steps": 500,',
        '  "args": {"b":"x","vp-index-bug":"1"},',
        '  "failure": {"class":"guest failure","signature":"lost IPI: CPU # → CPU #","message":"lost IPI: CPU 1 → CPU 3"},',
        '  "choices": [',
        `    ${Array.from({ length: 32 }, (_, i) => i % 4).join(', ')},`,
        '    0, 1, 2, 3, 0, 1, 2, 3',
        '  ]',
        '}',
        '',
      ].join('\n'),
    );
  });

  it.each<[string, string]>([
    ['{', `${SOURCE}: not JSON (`],
    ['[1, 2]', `${SOURCE}: the file holds [1,2]: accepted: one JSON object with "format": "pvlab-schedule"`],
    [
      withField({ format: 'shuttle' }),
      `${SOURCE}: format = "shuttle": accepted: "pvlab-schedule" (a pvlab schedule file)`,
    ],
    [without('format'), `${SOURCE}: format = missing: accepted: "pvlab-schedule" (a pvlab schedule file)`],
    [
      withField({ version: 2 }),
      `${SOURCE}: version = 2: this pvlab reads schedule files up to version 1: accepted: 1 to 1 (use the pvlab that wrote it)`,
    ],
    [withField({ version: '1' }), `${SOURCE}: version = "1": accepted: an integer from 1 to 1`],
    [withField({ vcpus: 0 }), `${SOURCE}: vcpus = 0: accepted: an integer from 1 to ${MAX_VCPUS}`],
    [
      withField({ vcpus: MAX_VCPUS + 1 }),
      `${SOURCE}: vcpus = ${MAX_VCPUS + 1}: accepted: an integer from 1 to ${MAX_VCPUS}`,
    ],
    [without('vcpus'), `${SOURCE}: vcpus = missing: accepted: an integer from 1 to ${MAX_VCPUS}`],
    [withField({ strategy: 'dfs' }), `${SOURCE}: strategy = "dfs": accepted: "random", "pct"`],
    [withField({ seed: -1 }), `${SOURCE}: seed = -1: accepted: an integer from 0 to 4294967295`],
    [withField({ seed: 1.5 }), `${SOURCE}: seed = 1.5: accepted: an integer from 0 to 4294967295`],
    [
      withField({ strategy: 'pct', steps: 9 }),
      `${SOURCE}: depth = missing: accepted: an integer ≥ 1 (the pct strategy needs it)`,
    ],
    [
      withField({ strategy: 'pct', depth: 2 }),
      `${SOURCE}: steps = missing: accepted: an integer ≥ 1 (the pct strategy needs it)`,
    ],
    [
      withField({ depth: 0 }),
      `${SOURCE}: depth = 0: accepted: an integer from 1 to ${Number.MAX_SAFE_INTEGER}`,
    ],
    [withField({ preempt: 'always' }), `${SOURCE}: preempt = "always": accepted: "exits", "memory"`],
    [withField({ guest: 3 }), `${SOURCE}: guest = 3: accepted: a string`],
    [withField({ args: { a: 1 } }), `${SOURCE}: args.a = 1: accepted: strings`],
    [withField({ args: [] }), `${SOURCE}: args = []: accepted: an object of strings`],
    [
      withField({ flags: { memory: null } }),
      `${SOURCE}: flags.memory = null: accepted: strings, numbers or booleans`,
    ],
    [
      withField({ failure: { class: 'deadlock' } }),
      `${SOURCE}: failure.signature = missing: accepted: a string`,
    ],
    [
      withField({ failure: 'deadlock' }),
      `${SOURCE}: failure = "deadlock": accepted: an object with the strings class, signature, message`,
    ],
    [
      withField({ failure: { class: 'x', signature: 'y', message: 'z', at: 1 } }),
      `${SOURCE}: failure.at = 1: accepted: only class, signature, message`,
    ],
    [
      withField({ preemptions: -2 }),
      `${SOURCE}: preemptions = -2: accepted: an integer from 0 to ${Number.MAX_SAFE_INTEGER}`,
    ],
    [
      withField({ choices: '1,2' }),
      `${SOURCE}: choices = "1,2": accepted: an array of integers from -1 to 3`,
    ],
    [without('choices'), `${SOURCE}: choices = missing: accepted: an array of integers from -1 to 3`],
    [
      withField({ choices: [0, 4] }),
      `${SOURCE}: choices[1] = 4: accepted: an integer from -1 (the default) to 3 (vcpus - 1)`,
    ],
    [
      withField({ choices: [-2] }),
      `${SOURCE}: choices[0] = -2: accepted: an integer from -1 (the default) to 3 (vcpus - 1)`,
    ],
    [
      withField({ choices: [0.5] }),
      `${SOURCE}: choices[0] = 0.5: accepted: an integer from -1 (the default) to 3 (vcpus - 1)`,
    ],
    [
      withField({ choice: [] }),
      `${SOURCE}: choice = []: accepted: only the fields format, version, vcpus, strategy, seed, depth, steps, preempt, guest, args, flags, failure, preemptions, choices`,
    ],
  ])('%s: a one-line ScheduleFileError', (text, message) => {
    const got = errorOf(text);
    expect(got).not.toContain('\n');
    expect(got.startsWith(message)).toBe(true);
  });

  it('names both versions for a newer file', () => {
    expect(errorOf(withField({ version: 3 }))).toMatch(
      /version = 3: this pvlab reads schedule files up to version 1/,
    );
  });

  test.prop([
    fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    ),
  ])('arbitrary text throws nothing but a one-line ScheduleFileError', (text) => {
    try {
      parseScheduleFile(text, SOURCE);
    } catch (e) {
      expect(e).toBeInstanceOf(ScheduleFileError);
      expect((e as Error).message).not.toContain('\n');
    }
  });

  test.prop([
    fc.record(
      {
        format: fc.oneof(fc.constant('pvlab-schedule'), fc.jsonValue()),
        version: fc.oneof(fc.constant(1), fc.jsonValue()),
        vcpus: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.jsonValue()),
        strategy: fc.oneof(fc.constantFrom('random', 'pct'), fc.jsonValue()),
        seed: fc.oneof(fc.nat(), fc.jsonValue()),
        depth: fc.jsonValue(),
        steps: fc.jsonValue(),
        preempt: fc.jsonValue(),
        guest: fc.jsonValue(),
        args: fc.jsonValue(),
        flags: fc.jsonValue(),
        failure: fc.jsonValue(),
        preemptions: fc.jsonValue(),
        choices: fc.oneof(fc.array(fc.integer({ min: -2, max: 9 })), fc.jsonValue()),
      },
      { requiredKeys: [] },
    ),
  ])('near-valid objects throw nothing but a one-line ScheduleFileError', (o) => {
    try {
      const s = parseScheduleFile(JSON.stringify(o), SOURCE);
      expect(parseScheduleFile(encodeScheduleFile(s), SOURCE)).toEqual(s);
    } catch (e) {
      expect(e).toBeInstanceOf(ScheduleFileError);
      expect((e as Error).message).not.toContain('\n');
    }
  });
});
