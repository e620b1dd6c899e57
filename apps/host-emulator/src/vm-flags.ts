/**
 * The CLI flags that shape a VM the way `createVm` options do (`--feature`, `--without`,
 * `--memory`, `--tlb-flush`, `--max-reps-per-call`), shared by `run`, `demo` and `info`.
 */
import { HvFeature, type HvFeatureName, MAX_GUEST_MEMORY_BYTES } from '@pvlab/hypercall';
import { TLB_FLUSH_MODES } from '@pvlab/tlb-ipi/host';
import { InvalidArgumentError, Option } from 'commander';
import type { CreateVmOptions } from './options.js';
import { OPTIONAL_PACKAGES } from './package-names.js';

/** The VM-shaping flags as commander parses them. */
export interface VmFlags {
  /** `--feature NAME=on|off`, repeatable: later ones win. */
  readonly feature?: Readonly<Record<string, boolean>>;
  /** `--without PKG`, repeatable. */
  readonly without?: readonly string[];
  /** `--memory SIZE` in bytes. */
  readonly memory?: number;
  readonly tlbFlush?: 'precise' | 'kvm-fifo';
  readonly maxRepsPerCall?: number;
}

const PAGE = 4096;
const FEATURE_NAMES = Object.keys(HvFeature);
const UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function parseFeature(
  value: string,
  previous: Readonly<Record<string, boolean>> = {},
): Record<string, boolean> {
  const m = /^([^=]+)=(on|off)$/.exec(value);
  if (!m) throw new InvalidArgumentError(`'${value}': expected NAME=on or NAME=off`);
  const name = m[1]!;
  if (!FEATURE_NAMES.includes(name)) {
    throw new InvalidArgumentError(`'${name}' is not a feature: accepted: ${FEATURE_NAMES.join(', ')}`);
  }
  return { ...previous, [name]: m[2] === 'on' };
}

function parseWithout(value: string, previous: readonly string[] = []): string[] {
  if (!OPTIONAL_PACKAGES.includes(value)) {
    throw new InvalidArgumentError(
      `'${value}' is not a package that can be left out: accepted: ${OPTIONAL_PACKAGES.join(', ')}`,
    );
  }
  return [...previous, value];
}

/** `65536`, `64K`, `16M`, `1G` (binary units, an optional `iB`/`B`) → bytes. */
export function parseMemorySize(value: string): number {
  const m = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim());
  const bytes = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < PAGE || bytes > MAX_GUEST_MEMORY_BYTES || bytes % PAGE !== 0) {
    throw new InvalidArgumentError(
      `'${value}' is not a memory size: use a multiple of 4 KiB from 4K to 4G (bytes, or with K, M, G)`,
    );
  }
  return bytes;
}

function parseReps(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 0xfff) {
    throw new InvalidArgumentError(`'${value}' is not a rep count: use an integer from 1 to 4095`);
  }
  return n;
}

/** The commander options for the VM-shaping flags. */
export function vmFlagOptions(): Option[] {
  return [
    new Option(
      '--feature <name=on|off>',
      'turn a CPUID feature bit on or off (names: `pvlab-host info`); repeatable',
    ).argParser(parseFeature),
    new Option(
      '--without <package>',
      `leave an optional package out (${OPTIONAL_PACKAGES.join(', ')}); repeatable`,
    ).argParser(parseWithout),
    new Option('--memory <size>', 'guest RAM: bytes, or with K, M, G (default 16M)').argParser(
      parseMemorySize,
    ),
    new Option('--tlb-flush <mode>', "how TLB-flush hypercalls flush (default 'precise')").choices(
      TLB_FLUSH_MODES,
    ),
    new Option(
      '--max-reps-per-call <n>',
      'the rep-call time slice: 1-4095 reps per call (default 4095)',
    ).argParser(parseReps),
  ];
}

/** The `createVm` options the flags stand for (only those given). */
export function vmOptionsFromFlags(flags: VmFlags): CreateVmOptions {
  return {
    ...(flags.feature === undefined
      ? {}
      : { features: flags.feature as Partial<Record<HvFeatureName, boolean>> }),
    ...(flags.without === undefined
      ? {}
      : { packages: Object.fromEntries(flags.without.map((name) => [name, false])) }),
    ...(flags.memory === undefined ? {} : { memoryBytes: flags.memory }),
    ...(flags.tlbFlush === undefined ? {} : { tlbFlush: flags.tlbFlush }),
    ...(flags.maxRepsPerCall === undefined ? {} : { maxRepsPerCall: flags.maxRepsPerCall }),
  };
}

/** The flags given, by name, for messages (`--restore` keeps the snapshot's settings). */
export function givenVmFlags(flags: VmFlags): string[] {
  const names: [keyof VmFlags, string][] = [
    ['feature', '--feature'],
    ['without', '--without'],
    ['memory', '--memory'],
    ['tlbFlush', '--tlb-flush'],
    ['maxRepsPerCall', '--max-reps-per-call'],
  ];
  return names.filter(([key]) => flags[key] !== undefined).map(([, flag]) => flag);
}
