/**
 * The schedule file: one JSON object that replays one run exactly.
 *
 * ```json
 * { "format": "pvlab-schedule", "version": 1, "vcpus": 4, "strategy": "pct", "seed": 7,
 *   "depth": 3, "steps": 200, "preempt": "exits", "guest": "g.mjs", "args": { "k": "v" },
 *   "flags": { "arch": "arm64" }, "failure": { "class": "deadlock", "signature": "…",
 *   "message": "…" }, "preemptions": 2, "choices": [1, 0, -1, 3] }
 * ```
 *
 * A replay is exact because `choices` holds every decision with ≥ 2 runnable vCPUs (−1: the
 * default pick, see `replayStrategy`) and the file holds everything else the run depended on:
 * the vCPU count, the guest and its `args`, the other run flags (`flags`, as the CLI spells
 * them, e.g. memory size, arch, budgets: a budget decides when a run stops), and which events
 * are scheduling points (`preempt`, default "exits": a choice index means nothing under another
 * mode). `strategy`, `seed`, `depth` and `steps` say where the schedule came from (the run
 * `--seed` would give before any shrinking); `failure` and `preemptions` say what it did, so a
 * replay can check it fails the same way.
 *
 * Version rule: a reader accepts every version up to its own and refuses a newer one, naming
 * both. Any change to the fields or their meaning bumps `version`; unknown fields are refused,
 * so a typo does not pass silently.
 */
import { MAX_VCPUS } from '../options.js';
import { STRATEGY_NAMES, type StrategyName } from './strategy.js';

export const SCHEDULE_FORMAT = 'pvlab-schedule';
/** The newest schedule-file version this code reads and the one it writes. */
export const SCHEDULE_VERSION = 1;
export type PreemptMode = 'exits' | 'memory';
export const PREEMPT_MODES: readonly PreemptMode[] = ['exits', 'memory'];
const MAX_SEED = 0xffff_ffff;

export interface ScheduleFailure {
  /** The failure class (e.g. "deadlock", "lost wake-up", "guest failure"). */
  readonly class: string;
  /** `failureSignature(message)`: what groups runs that fail the same way. */
  readonly signature: string;
  readonly message: string;
}

export interface ScheduleFile {
  readonly format: typeof SCHEDULE_FORMAT;
  readonly version: number;
  readonly vcpus: number;
  readonly strategy: StrategyName;
  readonly seed: number;
  readonly depth?: number;
  readonly steps?: number;
  readonly preempt?: PreemptMode;
  readonly guest?: string;
  readonly args?: Readonly<Record<string, string>>;
  readonly flags?: Readonly<Record<string, string | number | boolean>>;
  readonly failure?: ScheduleFailure;
  readonly preemptions?: number;
  readonly choices: readonly number[];
}

/** A schedule file that cannot be used: the one-line message names the file, the field, the value and what is accepted. */
export class ScheduleFileError extends Error {
  override readonly name = 'ScheduleFileError';
}

const KEYS = [
  'format',
  'version',
  'vcpus',
  'strategy',
  'seed',
  'depth',
  'steps',
  'preempt',
  'guest',
  'args',
  'flags',
  'failure',
  'preemptions',
  'choices',
] as const;

const CHOICES_PER_LINE = 32;

function sortedObject<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The file's text: fields in a fixed order, nested objects with sorted keys, a trailing newline. */
export function encodeScheduleFile(s: ScheduleFile): string {
  const lines: string[] = [];
  for (const key of KEYS) {
    const value = s[key];
    if (value === undefined) continue;
    let text: string;
    if (key === 'choices') {
      const rows: string[] = [];
      for (let i = 0; i < s.choices.length; i += CHOICES_PER_LINE) {
        rows.push(`    ${s.choices.slice(i, i + CHOICES_PER_LINE).join(', ')}`);
      }
      text = rows.length === 0 ? '[]' : `[\n${rows.join(',\n')}\n  ]`;
    } else if (key === 'failure') {
      const f = value as ScheduleFailure;
      text = JSON.stringify({ class: f.class, signature: f.signature, message: f.message });
    } else if (typeof value === 'object') {
      text = JSON.stringify(sortedObject(value as Record<string, unknown>));
    } else {
      text = JSON.stringify(value);
    }
    lines.push(`  ${JSON.stringify(key)}: ${text}`);
  }
  return `{\n${lines.join(',\n')}\n}\n`;
}

/** A value as it appears in an error: JSON, on one line, cut short when long. */
function show(value: unknown): string {
  if (value === undefined) return 'missing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? 'an array' : typeof value; // nested too deep to print
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}

/** Reads a schedule file's text; `source` names the file in errors. */
export function parseScheduleFile(text: string, source: string): ScheduleFile {
  const fail = (message: string): never => {
    throw new ScheduleFileError(oneLine(`${source}: ${message}`));
  };
  const bad = (field: string, value: unknown, accepted: string): never =>
    fail(`${field} = ${show(value)}: accepted: ${accepted}`);

  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return fail(`not JSON (${(e as Error).message}): accepted: a ${SCHEDULE_FORMAT} JSON object`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return fail(
      `the file holds ${show(data)}: accepted: one JSON object with "format": "${SCHEDULE_FORMAT}"`,
    );
  }
  const o = data as Record<string, unknown>;
  if (o.format !== SCHEDULE_FORMAT)
    return bad('format', o.format, `"${SCHEDULE_FORMAT}" (a pvlab schedule file)`);
  const version = o.version;
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    return bad('version', version, `an integer from 1 to ${SCHEDULE_VERSION}`);
  }
  if ((version as number) > SCHEDULE_VERSION) {
    return fail(
      `version = ${version}: this pvlab reads schedule files up to version ${SCHEDULE_VERSION}: accepted: 1 to ${SCHEDULE_VERSION} (use the pvlab that wrote it)`,
    );
  }
  for (const key of Object.keys(o)) {
    if (!(KEYS as readonly string[]).includes(key))
      return bad(key, o[key], `only the fields ${KEYS.join(', ')}`);
  }

  const integer = (field: string, value: unknown, min: number, max: number): number => {
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
      return bad(field, value, `an integer from ${min} to ${max}`);
    }
    return (value as number) + 0; // -0 → 0
  };
  const optional = <T>(key: string, read: (value: unknown) => T): T | undefined =>
    o[key] === undefined ? undefined : read(o[key]);
  const string = (field: string) => (value: unknown) =>
    typeof value === 'string' ? value : bad(field, value, 'a string');
  const record =
    <T>(field: string, accepted: string, ok: (v: unknown) => v is T) =>
    (value: unknown) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return bad(field, value, `an object of ${accepted}`);
      for (const [k, v] of Object.entries(value)) if (!ok(v)) bad(`${field}.${k}`, v, accepted);
      return value as Record<string, T>;
    };

  const vcpus = integer('vcpus', o.vcpus, 1, MAX_VCPUS);
  const strategy = o.strategy;
  if (!STRATEGY_NAMES.includes(strategy as StrategyName)) {
    bad('strategy', strategy, STRATEGY_NAMES.map((n) => `"${n}"`).join(', '));
  }
  const seed = integer('seed', o.seed, 0, MAX_SEED);
  const depth = optional('depth', (v) => integer('depth', v, 1, Number.MAX_SAFE_INTEGER));
  const steps = optional('steps', (v) => integer('steps', v, 1, Number.MAX_SAFE_INTEGER));
  if (strategy === 'pct') {
    if (depth === undefined) bad('depth', undefined, 'an integer ≥ 1 (the pct strategy needs it)');
    if (steps === undefined) bad('steps', undefined, 'an integer ≥ 1 (the pct strategy needs it)');
  }
  const preempt = optional('preempt', (v) =>
    PREEMPT_MODES.includes(v as PreemptMode)
      ? (v as PreemptMode)
      : bad('preempt', v, PREEMPT_MODES.map((m) => `"${m}"`).join(', ')),
  );
  const guest = optional('guest', string('guest'));
  const args = optional(
    'args',
    record('args', 'strings', (v): v is string => typeof v === 'string'),
  );
  const flags = optional(
    'flags',
    record(
      'flags',
      'strings, numbers or booleans',
      (v): v is string | number | boolean =>
        typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)),
    ),
  );
  const failure = optional('failure', (v): ScheduleFailure => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      return bad('failure', v, 'an object with the strings class, signature, message');
    }
    const f = v as Record<string, unknown>;
    for (const k of Object.keys(f)) {
      if (!['class', 'signature', 'message'].includes(k))
        bad(`failure.${k}`, f[k], 'only class, signature, message');
    }
    const field = (k: string) => string(`failure.${k}`)(f[k]);
    return { class: field('class'), signature: field('signature'), message: field('message') };
  });
  const preemptions = optional('preemptions', (v) => integer('preemptions', v, 0, Number.MAX_SAFE_INTEGER));
  if (!Array.isArray(o.choices)) bad('choices', o.choices, `an array of integers from -1 to ${vcpus - 1}`);
  const choices = (o.choices as unknown[]).map((c, i) => {
    if (!Number.isSafeInteger(c) || (c as number) < -1 || (c as number) >= vcpus) {
      return bad(`choices[${i}]`, c, `an integer from -1 (the default) to ${vcpus - 1} (vcpus - 1)`);
    }
    return (c as number) + 0;
  });

  return {
    format: SCHEDULE_FORMAT,
    version: version as number,
    vcpus,
    strategy: strategy as StrategyName,
    seed,
    ...(depth === undefined ? {} : { depth }),
    ...(steps === undefined ? {} : { steps }),
    ...(preempt === undefined ? {} : { preempt }),
    ...(guest === undefined ? {} : { guest }),
    ...(args === undefined ? {} : { args }),
    ...(flags === undefined ? {} : { flags }),
    ...(failure === undefined ? {} : { failure }),
    ...(preemptions === undefined ? {} : { preemptions }),
    choices,
  };
}
