import { availableParallelism, cpus } from 'node:os';
import { formatSuite } from './report.js';
import type { SuiteResult, TimingOptions } from './suite.js';
import { SUITES } from './suites/index.js';

const USAGE = 'usage: pnpm bench [--json] [--suite <name>]... [--time <ms>] [--rounds <n>]';
const ACCEPTED = `accepted: --json, --suite <${SUITES.map((s) => s.name).join('|')}>, --time <ms 10..60000>, --rounds <1..20>, --help`;

/** Rounds by default: the project judges a figure on the median of at least 5 interleaved rounds. */
const DEFAULT_ROUNDS = 5;

interface Args {
  json: boolean;
  suites: string[];
  timing: TimingOptions;
}

/** A bad flag: one line on stderr, exit code 2, nothing on stdout. */
function usageError(message: string): never {
  process.stderr.write(`pnpm bench: ${message}; ${ACCEPTED}\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    json: false,
    suites: [],
    timing: { timeMs: 1000, warmupMs: 250, rounds: DEFAULT_ROUNDS },
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') usageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--json':
        if (inline !== undefined) usageError(`--json takes no value (got '${inline}')`);
        args.json = true;
        break;
      case '--suite': {
        const name = value();
        if (!SUITES.some((s) => s.name === name)) usageError(`unknown suite '${name}'`);
        args.suites.push(name);
        break;
      }
      case '--time': {
        const raw = value();
        const ms = Number(raw);
        if (!/^\d+$/.test(raw) || ms < 10 || ms > 60000)
          usageError(`--time '${raw}' is not a whole number of ms in 10..60000`);
        args.timing = { ...args.timing, timeMs: ms, warmupMs: Math.min(250, ms) };
        break;
      }
      case '--rounds': {
        const raw = value();
        const n = Number(raw);
        if (!/^\d+$/.test(raw) || n < 1 || n > 20)
          usageError(`--rounds '${raw}' is not a whole number in 1..20`);
        args.timing = { ...args.timing, rounds: n };
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write(
          `${USAGE}\n  --json          print one JSON object with every figure and ratio\n  --suite <name>  run only this suite (repeatable): ${SUITES.map((s) => s.name).join(', ')}\n  --time <ms>     sampling time per case (default 1000; warmup 250)\n  --rounds <n>    run all cases n times over, interleaved, and report the median of each case's rounds (default ${DEFAULT_ROUNDS})\n`,
        );
        process.exit(0);
        break;
      default:
        usageError(arg.startsWith('-') ? `unknown option '${arg}'` : `unexpected argument '${arg}'`);
    }
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const selected = SUITES.filter((s) => args.suites.length === 0 || args.suites.includes(s.name));
const machine = {
  node: process.version,
  cpus: availableParallelism(),
  cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
  date: new Date().toISOString(),
  timing: args.timing,
};

const progress = (line: string) => process.stderr.write(`${line}\n`);
const results: Record<string, SuiteResult> = {};
if (!args.json) {
  process.stdout.write(
    `pvlab bench: node ${machine.node}, ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.date}; ` +
      `${args.timing.timeMs} ms per case after ${args.timing.warmupMs} ms warmup, median of ${args.timing.rounds} interleaved round(s)\n\n`,
  );
}
for (const suite of selected) {
  progress(`${suite.name}: running`);
  const result = await suite.run(args.timing, progress);
  results[suite.name] = result;
  if (!args.json) process.stdout.write(`${formatSuite(suite.name, result)}\n\n`);
}
if (args.json) process.stdout.write(`${JSON.stringify({ ...machine, suites: results }, null, 2)}\n`);
