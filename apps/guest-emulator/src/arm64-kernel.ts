import type { GuestProgramCpu } from '@pvlab/hypercall/guest';
import { hasPvStealClock, initStealClock, readStolenTime } from '@pvlab/pv-time/guest';
import { KernelArgError } from './args.js';

/**
 * The arm64 kernel keeps each CPU's stolen-time record IPA here (0 = none), as Linux keeps its
 * per-CPU `stolen_time_region`: a VM restored from a snapshot finds its mappings in place and
 * does not call PV_TIME_ST again (which would zero the record: spec 06 rule 4).
 */
export const STEAL_IPA_TABLE = 0x1000n;

/** Options of the arm64 kernel (`--guest-arg key=value` on an arm64 VM). */
export interface Arm64KernelOptions {
  /** Scheduling points (PAUSE) each CPU passes, reading its steal clock at each (default 200). */
  readonly work?: number;
}

/** What each CPU reports. */
export interface Arm64CpuReport {
  /** `null` when the CPU has no steal clock. */
  readonly stealIpa: string | null;
  /** Stolen time when the workload began and ended, ns (decimal strings: they are u64). */
  readonly stealStartNs: string;
  readonly stealNs: string;
}

const DEFAULT_WORK = 200;
const MAX_WORK = 1_000_000;

/** Reads `work=N` from `cpu.args`; anything else is a `KernelArgError` naming the accepted values. */
export function arm64KernelOptionsFromArgs(args: Readonly<Record<string, string>>): Arm64KernelOptions {
  const options: { work?: number } = {};
  for (const [key, value] of Object.entries(args)) {
    if (key !== 'work') {
      throw new KernelArgError(`--guest-arg ${key}: unknown option; the arm64 guest-emulator takes work`);
    }
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > MAX_WORK) {
      throw new KernelArgError(`--guest-arg work=${value}: use an integer from 1 to ${MAX_WORK}`);
    }
    options.work = n;
  }
  return options;
}

/**
 * The arm64 guest kernel on one CPU: probes PV time as Linux does (SMCCC ≥ 1.1, ARCH_FEATURES,
 * PV_TIME_FEATURES — CPU 0 logs the result), sets up this CPU's steal clock (PV_TIME_ST, refusing
 * a record whose revision or attributes are not 0), runs a workload of scheduling points during
 * which other vCPUs may run while this one waits, checks that stolen time never goes backwards,
 * and reports its steal.
 */
export function runArm64Kernel(cpu: GuestProgramCpu, options: Arm64KernelOptions = {}): Arm64CpuReport {
  const work = options.work ?? DEFAULT_WORK;
  const slot = Number(STEAL_IPA_TABLE) + cpu.index * 8;
  const probe = hasPvStealClock(cpu);
  if (cpu.index === 0) {
    const v = `${probe.smcccVersion.major}.${probe.smcccVersion.minor}`;
    cpu.log(
      probe.available
        ? `arm64: SMCCC v${v}, PV stolen time available (DEN0057A)`
        : `arm64: SMCCC v${v}, no PV stolen time (${probe.failedStep} answered 0x${probe.x0.toString(16)})`,
    );
  }
  let ipa: bigint | undefined;
  const saved = cpu.memory.view.getBigUint64(slot, true);
  if (cpu.restored && saved !== 0n) {
    ipa = saved;
    cpu.log(`CPU${cpu.index}: resumed, steal clock at IPA 0x${ipa.toString(16)}`);
  } else if (probe.available) {
    const init = initStealClock(cpu);
    if (init.ok) {
      ipa = init.clock.ipa;
      cpu.memory.view.setBigUint64(slot, ipa, true);
      cpu.log(`CPU${cpu.index}: online, steal clock at IPA 0x${ipa.toString(16)}`);
    } else if (init.errno === 'ENXIO') {
      cpu.log(
        `CPU${cpu.index}: refusing stolen-time record revision ${init.revision} attributes ${init.attributes} (-ENXIO)`,
      );
    } else {
      cpu.log(`CPU${cpu.index}: PV_TIME_ST not supported (-EINVAL)`);
    }
  }
  const read = () => (ipa === undefined ? 0n : readStolenTime(cpu.memory, ipa));
  const start = read();
  let last = start;
  for (let i = 0; i < work; i++) {
    cpu.pause();
    const now = read();
    if (now < last) cpu.fail(`CPU${cpu.index}: stolen time went backwards: ${last} ns, then ${now} ns`);
    last = now;
  }
  const report: Arm64CpuReport = {
    stealIpa: ipa === undefined ? null : `0x${ipa.toString(16)}`,
    stealStartNs: start.toString(),
    stealNs: last.toString(),
  };
  cpu.report('steal', report);
  cpu.log(
    `CPU${cpu.index}: steal ${formatNs(last - start)} during ${work} scheduling points (total ${formatNs(last)})`,
  );
  return report;
}

function formatNs(ns: bigint): string {
  return ns >= 10_000_000n
    ? `${(Number(ns) / 1e6).toFixed(1)} ms`
    : ns >= 10_000n
      ? `${(Number(ns) / 1e3).toFixed(1)} µs`
      : `${ns} ns`;
}
