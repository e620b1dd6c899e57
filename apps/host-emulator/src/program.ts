import { HvFeature, type HvFeatureName, hvCallName, isGuestFault } from '@pvlab/hypercall';
import { GuestBootError } from '@pvlab/hypercall/guest';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { formatCallSummary, runDirectDemo } from './demo.js';
import { MAX_VCPUS, VmOptionError } from './options.js';
import { ConformanceError, createVm } from './vm.js';

/** Exit code for bad user input (flags, config, guest programs). */
const EXIT_USAGE = 2;
/** Exit code for a guest that failed. */
const EXIT_GUEST_FAILED = 1;

function parseVcpus(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 1 || n > MAX_VCPUS) {
    throw new InvalidArgumentError(`'${value}' is not a vCPU count: use an integer from 1 to ${MAX_VCPUS}`);
  }
  return n;
}

/** Where the CLI writes; the bin passes process.stdout/stderr, tests pass collectors. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

/**
 * Runs `pvlab-host` with `argv` (the arguments after the program name) and returns the exit
 * code: 0 on success, 2 for bad user input (with one line on stderr), 1 for a failing guest.
 */
export function runPvlabHost(argv: readonly string[], io: CliOutput): number {
  const print = (line: string) => io.out(`${line}\n`);
  const program = new Command('pvlab-host')
    .description('pvlab host emulator: runs guests against byte-exact Hyper-V paravirtual interfaces')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // Commander's errors are one line; drop any hint lines after it.
      outputError: (msg, write) => write(`${msg.split('\n')[0]}\n`),
    });

  program
    .command('demo')
    .description('boot the guest-emulator on the direct harness and summarise its hypercalls')
    .addOption(new Option('--vcpus <n>', 'number of vCPUs').argParser(parseVcpus).default(4))
    .option('--json', 'print the report as JSON instead of text')
    .action((opts: { vcpus: number; json?: boolean }) => {
      const json = opts.json === true;
      const report = runDirectDemo({
        vcpus: opts.vcpus,
        ...(json ? {} : { log: (l: string) => print(l) }),
      });
      if (json) {
        print(JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2));
        return;
      }
      print('');
      print(formatCallSummary(report.calls));
      print(`\n${report.vcpus} vCPUs booted, ${report.diagnostics} conformance diagnostics`);
    });

  program
    .command('info')
    .description('show what a VM exposes: CPUID leaves, feature bits and registered hypercalls')
    .addOption(new Option('--vcpus <n>', 'number of vCPUs').argParser(parseVcpus).default(1))
    .option('--json', 'print as JSON')
    .action((opts: { vcpus: number; json?: boolean }) => {
      const vm = createVm({ vcpus: opts.vcpus });
      const leaves = Array.from({ length: vm.cpuid(0x4000_0000).eax - 0x4000_0000 + 1 }, (_, i) => {
        const leaf = 0x4000_0000 + i;
        return { leaf: `0x${leaf.toString(16)}`, ...vm.cpuid(leaf) };
      });
      const features = vm.partition.features.exposed();
      const hypercalls = vm.partition.dispatcher.descriptors().map((d) => ({
        code: `0x${d.code.toString(16).padStart(4, '0')}`,
        name: hvCallName(d.code),
        kind: d.kind,
        fast: d.fast ?? 'none',
        gate: d.gate?.description ?? '-',
      }));
      const packages = vm.partition.packages;
      vm.close();
      if (opts.json) {
        print(JSON.stringify({ packages, leaves, features, hypercalls }, null, 2));
        return;
      }
      const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
      print('CPUID leaf   EAX        EBX        ECX        EDX');
      for (const l of leaves)
        print(`${l.leaf.padEnd(12)} ${hex(l.eax)} ${hex(l.ebx)} ${hex(l.ecx)} ${hex(l.edx)}`);
      print(`\npackages: ${packages.join(', ')}`);
      print('\nexposed features:');
      for (const f of features) {
        const bit = HvFeature[f as HvFeatureName];
        print(
          `  ${f.padEnd(28)} CPUID 0x${bit.leaf.toString(16)} ${bit.register.toUpperCase()} bit ${bit.bit}`,
        );
      }
      print('\nhypercalls:');
      for (const h of hypercalls)
        print(
          `  ${h.code} ${h.name.padEnd(28)} ${h.kind.padEnd(6)} fast=${h.fast.padEnd(8)} gate: ${h.gate}`,
        );
    });

  try {
    program.parse([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    if (e instanceof VmOptionError) {
      io.err(`pvlab-host: ${e.message}\n`);
      return EXIT_USAGE;
    }
    // The guest failed (it broke a spec rule in strict mode, or could not boot): exit code 1.
    if (e instanceof ConformanceError || e instanceof GuestBootError || isGuestFault(e)) {
      io.err(`pvlab-host: guest failed: ${(e as Error).message}\n`);
      return EXIT_GUEST_FAILED;
    }
    throw e;
  }
}
