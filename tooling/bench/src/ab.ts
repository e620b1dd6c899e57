/**
 * A/B: the bench of another built checkout (base) against this one (head), one suite at a time,
 * alternating processes A B, B A, … so that the machine's load falls on both sides alike, then
 * per case the median of each side, head ÷ base, and the cases slower beyond the noise.
 *
 *   node tooling/bench/dist/ab.js --base <checkout> [--suite <name>]... [--rounds <n>] [--time <ms>] [--threshold <%>] [--json]
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compareSuite, type SuiteComparison } from './ab/compare.js';
import { type SuiteFigures, suiteFigures } from './ab/figures.js';
import { benchEntry, describeCheckout, runBench, type Side, sideOrder } from './ab/processes.js';
import { formatComparison } from './ab/report.js';
import { SUITES } from './suites/index.js';

/** The suites the issue's "no slower" check names. */
const DEFAULT_SUITES = ['threaded', 'direct-dispatch'];
/** Processes per side by default: the project judges on the median of at least 5 interleaved rounds. */
const DEFAULT_ROUNDS = 5;
const DEFAULT_THRESHOLD = 5;
/** Pairs tried per kept pair at most, when runs the bench cannot judge are dropped. */
const ATTEMPTS_PER_ROUND = 3;
const HEAD = fileURLToPath(new URL('../../../', import.meta.url));

const USAGE =
  'usage: node tooling/bench/dist/ab.js --base <checkout> [--head <checkout>] [--suite <name>]... [--rounds <n>] [--time <ms>] [--threshold <%>] [--keep-unjudged] [--json]';
const HELP = `${USAGE}
  --base <dir>       a built checkout to compare against (its tooling/bench/dist/main.js runs)
  --head <dir>       the checkout under test (default: this one, ${HEAD})
  --suite <name>     a suite to compare (repeatable; default: ${DEFAULT_SUITES.join(', ')})
  --rounds <n>       processes per side, 1..50 (default ${DEFAULT_ROUNDS}); each runs the suite once (--rounds 1)
  --time <ms>        passed to every bench process (its sampling time per case)
  --threshold <%>    how much slower a case's median must be to be flagged (default ${DEFAULT_THRESHOLD})
  --keep-unjudged    keep a pair even when a side's bench could not judge its run (default: drop it, run another)
  --json             print one JSON object instead of tables
`;

function usageError(message: string): never {
  process.stderr.write(`ab: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function wholeNumber(raw: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    usageError(`${flag} '${raw}' is not a whole number in ${min}..${max}`);
  return n;
}

function parse() {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions();
  } catch (e) {
    usageError((e as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (values.base === undefined) usageError('--base <checkout> is required');
  const suites = values.suite ?? DEFAULT_SUITES;
  for (const s of suites) {
    if (!SUITES.some((x) => x.name === s)) usageError(`unknown suite '${s}'`);
  }
  return {
    base: resolve(values.base),
    head: resolve(values.head ?? HEAD),
    suites,
    rounds: wholeNumber(values.rounds, '--rounds', 1, 50) ?? DEFAULT_ROUNDS,
    timeMs: wholeNumber(values.time, '--time', 10, 60000),
    threshold: wholeNumber(values.threshold, '--threshold', 0, 100) ?? DEFAULT_THRESHOLD,
    json: values.json === true,
    keepUnjudged: values['keep-unjudged'] === true,
  };
}

function parseOptions() {
  return parseArgs({
    options: {
      base: { type: 'string' },
      head: { type: 'string' },
      suite: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      time: { type: 'string' },
      threshold: { type: 'string' },
      json: { type: 'boolean' },
      'keep-unjudged': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

const args = parse();
let entries: Record<Side, string>;
try {
  entries = { base: benchEntry(args.base), head: benchEntry(args.head) };
} catch (e) {
  process.stderr.write(`ab: ${(e as Error).message}\n`);
  process.exit(2);
}
const checkouts = {
  base: { dir: args.base, commit: describeCheckout(args.base) },
  head: { dir: args.head, commit: describeCheckout(args.head) },
};
const label = (side: Side) => `${side} ${checkouts[side].commit ?? '?'} (${checkouts[side].dir})`;
process.stderr.write(
  `ab: ${label('base')} vs ${label('head')}; ${args.rounds} process(es) per side per suite, alternated\n`,
);
if (args.rounds < 5) {
  process.stderr.write('ab: fewer than 5 processes per side: not enough to judge a goal on\n');
}

const figures = new Map<string, Record<Side, SuiteFigures[]>>(
  args.suites.map((s) => [s, { base: [], head: [] }]),
);
/** Per suite: pairs in which a side's bench could not judge its run, dropped (or kept with --keep-unjudged). */
const dropped = new Map<string, number>(args.suites.map((s) => [s, 0]));
const unjudged = new Map<string, number>(args.suites.map((s) => [s, 0]));
const maxAttempts = args.rounds * ATTEMPTS_PER_ROUND;
for (const suite of args.suites) {
  const kept = figures.get(suite)!;
  for (let attempt = 0; kept.base.length < args.rounds && attempt < maxAttempts; attempt++) {
    const pair: Partial<Record<Side, SuiteFigures>> = {};
    // By kept pairs, not attempts: a dropped pair is run again in the same order, so the kept
    // pairs alternate exactly.
    for (const side of sideOrder(kept.base.length))
      pair[side] = suiteFigures(await runBench(entries[side], suite, args.timeMs), suite);
    const { base, head } = pair as Record<Side, SuiteFigures>;
    const judged = base.judged && head.judged;
    if (judged || args.keepUnjudged) {
      kept.base.push(base);
      kept.head.push(head);
      if (!judged) unjudged.set(suite, unjudged.get(suite)! + 1);
    } else dropped.set(suite, dropped.get(suite)! + 1);
    process.stderr.write(
      `ab: ${suite}: ${kept.base.length}/${args.rounds} pairs` +
        `${dropped.get(suite)! > 0 ? ` (${dropped.get(suite)} dropped: a side could not judge its run)` : ''}\n`,
    );
  }
}

const results: Record<string, SuiteComparison & { pairs: number; dropped: number; unjudged: number }> = {};
for (const [suite, f] of figures) {
  results[suite] = {
    pairs: f.base.length,
    dropped: dropped.get(suite)!,
    unjudged: unjudged.get(suite)!,
    ...compareSuite(f.base, f.head, args.threshold),
  };
}

if (args.json) {
  const { rounds, timeMs, threshold } = args;
  const out = { ...checkouts, rounds, timeMs: timeMs ?? null, threshold, suites: results };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} else {
  process.stdout.write(
    `pvlab bench A/B: ${label('base')} vs ${label('head')}\n` +
      `processes alternated (A B, B A, …), each running its suite for one round` +
      `${args.timeMs === undefined ? '' : ` of ${args.timeMs} ms per case`}\n\n`,
  );
  for (const [suite, c] of Object.entries(results)) {
    const pairs = { asked: args.rounds, kept: c.pairs, dropped: c.dropped, unjudged: c.unjudged };
    process.stdout.write(`${formatComparison(suite, c, args.threshold, pairs)}\n\n`);
  }
}
