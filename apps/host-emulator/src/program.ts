import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type ExploreCommandOptions, exploreCommand } from './explore/command.js';
import { exploreMerge } from './explore/merge.js';
import { DEFAULT_COUNT, DEFAULT_MAX_EXITS, DEFAULT_SHRINK_RUNS } from './explore/options.js';
import { STRATEGY_NAMES } from './explore/strategy.js';
import { GuestBuildError } from './guest-module.js';
import { type InfoCommandOptions, infoCommand } from './info-command.js';
import { MAX_VCPUS, VmOptionError } from './options.js';
import { type CommandIo, ExitCode, type RunCommandOptions, runCommand, UsageError } from './run-command.js';
import { SnapshotError } from './snapshot.js';
import { TraceWriteError } from './trace/write.js';
import { HOST_VERSION } from './versions.js';
import { vmFlagOptions } from './vm-flags.js';

/** Where the CLI writes; the bin passes process.stdout/stderr, tests pass collectors. */
export type CliOutput = CommandIo;

function integer(min: number, max: number, what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`'${value}' is not ${what}: use an integer from ${min} to ${max}`);
    }
    return n;
  };
}

const vcpusOption = (fallback: number | undefined, note?: string) => {
  const option = new Option('--vcpus <n>', `number of vCPUs${note ? ` ${note}` : ''}`).argParser(
    integer(1, MAX_VCPUS, 'a vCPU count'),
  );
  return fallback === undefined ? option : option.default(fallback);
};
const seedOption = () =>
  new Option(
    '--seed <n>',
    'deterministic run: one vCPU at a time, order drawn from the seed, virtual clock',
  ).argParser(integer(0, 0xffff_ffff, 'a seed'));
const timeoutOption = () =>
  new Option('--timeout <ms>', 'fail the run after this many milliseconds').argParser(
    integer(1, 24 * 3600 * 1000, 'a timeout'),
  );

const archOption = (fallback: 'x64' | undefined) => {
  const option = new Option(
    '--arch <arch>',
    `VM architecture: x64 (Hyper-V hypercalls) or arm64 (SMCCC, PV stolen time)${fallback ? '' : " (default: x64, or the snapshot's)"}`,
  ).choices(['x64', 'arm64']);
  return fallback === undefined ? option : option.default(fallback);
};

const isolationOption = () =>
  new Option(
    '--isolation <bits>',
    'an isolation VM: shared GPA boundary (vTOM) at 2^bits; guest programs get cpu.isolation',
  ).argParser(integer(12, 63, 'a boundary bit count'));

const hostileHostOption = () =>
  new Option(
    '--hostile-host <seed>',
    'an untrusted host: the VMBus host corrupts shared ring indices, lengths and packet fields, seeded',
  ).argParser(integer(0, 0xffff_ffff, 'a seed'));

const guestArgOption = () =>
  new Option('--guest-arg <key=value>', 'an option for the guest program (cpu.args); repeatable')
    .argParser((value: string, previous: string[] = []) => [...previous, value])
    .default([]);

/**
 * Runs `pvlab-host` with `argv` (the arguments after the program name) and resolves to the exit
 * code: 0 on success, 1 for a failing guest, 2 for bad user input (with one line on stderr), 70 for a
 * bug of pvlab-host.
 */
export async function runPvlabHost(argv: readonly string[], io: CliOutput): Promise<number> {
  const print = (line: string) => io.out(`${line}\n`);
  let exitCode: number = ExitCode.OK;
  const program = new Command('pvlab-host')
    .description('pvlab host emulator: runs guests against byte-exact Hyper-V paravirtual interfaces')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // Commander's errors are one line (hint lines after it dropped), prefixed like ours.
      outputError: (msg, write) => write(`pvlab-host: ${msg.split('\n')[0]!.replace(/^error: /, '')}\n`),
    })
    .version(HOST_VERSION, '--version', 'print the version of pvlab-host')
    // `explore merge --out D`: options after a subcommand are that subcommand's.
    .enablePositionalOptions();

  program
    .command('run')
    .description('boot a guest on vCPU worker threads: the guest-emulator, or your guest program')
    .addOption(vcpusOption(undefined, "(default: 1, or the snapshot's)"))
    .addOption(archOption(undefined))
    .option(
      '--guest <file>',
      'a guest program: a module (.mjs/.js, or .ts/.mts) whose default export runs on every vCPU, or a C guest built by pvlab-cc (.wasm) whose guest_main(cpu) does',
    )
    .addOption(seedOption())
    .option('--trace <file>', 'write a Chrome trace-event JSON file (opens in Perfetto)')
    .option('--json', 'print the summary as JSON instead of a table')
    .addOption(timeoutOption())
    .addOption(guestArgOption())
    .addOption(isolationOption())
    .addOption(hostileHostOption())
    .option(
      '--save <file>',
      'when the run ends, write the VM (memory, host state, vCPUs) as a versioned snapshot',
    )
    .option(
      '--restore <file>',
      'start from a snapshot written by --save instead of a fresh VM (guests see cpu.restored)',
    )
    .option(
      '--schedule <file>',
      'replay a schedule written by explore (its seed, vCPUs, guest and args unless given)',
    )
    .action(async (opts: RunCommandOptions) => {
      exitCode = await runCommand(opts, io);
    });

  const explore = program
    .command('explore')
    .enablePositionalOptions()
    .description(
      'seeded runs by the hundred: failures grouped, each shrunk to a schedule with the fewest preemptions, with its trace and a replay command',
    )
    .addOption(vcpusOption(undefined, '(default: 1)'))
    .addOption(archOption('x64'))
    .option(
      '--guest <file>',
      'a guest program (.mjs/.js/.ts or a .wasm C guest); the guest-emulator when absent',
    )
    .addOption(guestArgOption())
    .addOption(isolationOption())
    .addOption(hostileHostOption())
    .option('--seeds <A..B>', 'the seeds to run, A to B included')
    .addOption(
      new Option('--count <n>', `run seeds 0..n-1 (default ${DEFAULT_COUNT})`).argParser(
        integer(1, 100_000_000, 'a run count'),
      ),
    )
    .addOption(
      new Option(
        '--strategy <name>',
        'random: a uniform pick at each exit; pct: priorities with d-1 change points',
      ).choices(STRATEGY_NAMES),
    )
    .addOption(
      new Option('--depth <d>', 'pct: the bug depth d (d-1 priority change points; default 3)').argParser(
        integer(1, 64, 'a depth'),
      ),
    )
    .addOption(
      new Option(
        '--steps <k>',
        "pct: decisions per run the change points are drawn from (default: the first seed's)",
      ).argParser(integer(1, 1_000_000_000, 'a step count')),
    )
    .addOption(
      new Option('--jobs <k>', 'runs at once, each on its own vCPU threads (default 1)').argParser(
        integer(1, 64, 'a job count'),
      ),
    )
    .option(
      '--shard <i/n>',
      'run every n-th seed from the i-th (0-based); auto/n takes i from JOB_COMPLETION_INDEX',
    )
    .addOption(
      new Option(
        '--max-exits <n>',
        `a run that makes n exits without ending fails as limit (default ${DEFAULT_MAX_EXITS})`,
      ).argParser(integer(1, 1_000_000_000, 'an exit budget')),
    )
    .addOption(
      new Option(
        '--shrink-runs <n>',
        `runs the shrinker may make per failure group; 0 keeps the schedules as found (default ${DEFAULT_SHRINK_RUNS})`,
      ).argParser(integer(0, 1_000_000, 'a run count')),
    )
    .option(
      '--out <dir>',
      "where runs.jsonl, groups.jsonl and each group's schedule and trace go",
      'pvlab-explore',
    )
    .option('--json', 'print the summary as JSON')
    .action(async (opts: ExploreCommandOptions) => {
      exitCode = await exploreCommand(opts, io);
    });
  explore
    .command('merge')
    .description(
      "combine the --out directories of a campaign's shards into the groups and schedules one run gives",
    )
    .argument('<dir...>', "the shards' --out directories")
    .option('--out <dir>', 'where the merged runs.jsonl, groups.jsonl and group files go', 'pvlab-explore')
    .option('--json', 'print the summary as JSON')
    .action(async (dirs: string[], opts: { out: string; json?: boolean }) => {
      exitCode = await exploreMerge(dirs, opts, io);
    });

  program
    .command('demo')
    .description('boot the guest-emulator on 4 vCPU threads, print its boot log and summary, write a trace')
    .addOption(vcpusOption(4))
    .addOption(archOption('x64'))
    .addOption(seedOption())
    .option('--trace <file>', 'where to write the trace', 'pvlab-trace.json')
    .option('--json', 'print the summary as JSON instead of a table')
    .addOption(guestArgOption())
    .addOption(isolationOption())
    .addOption(hostileHostOption())
    .action(async (opts: RunCommandOptions) => {
      exitCode = await runCommand(opts, io);
    });

  program
    .command('info')
    .description(
      'show what a VM exposes: CPUID leaves, feature bits and registered hypercalls (arm64: SMCCC functions)',
    )
    .addOption(vcpusOption(1))
    .addOption(archOption('x64'))
    .addOption(isolationOption())
    .option('--json', 'print as JSON')
    .action((opts: InfoCommandOptions) => infoCommand(opts, print));

  // run, demo and info shape their VM with the same flags as createVm's options.
  for (const command of program.commands) for (const option of vmFlagOptions()) command.addOption(option);

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    if (
      e instanceof UsageError ||
      e instanceof VmOptionError ||
      e instanceof TraceWriteError ||
      e instanceof SnapshotError ||
      e instanceof GuestBuildError
    ) {
      io.err(`pvlab-host: ${e.message}\n`);
      return ExitCode.USAGE;
    }
    // Anything else is a bug of pvlab-host: still prefixed, with the stack to report.
    io.err(`pvlab-host: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return ExitCode.INTERNAL;
  }
}
