import { existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import {
  checkGuestEmulatorArgs,
  guestImageUrl,
  KernelArgError,
  kernelMemoryBytes,
} from '@pvlab/guest-emulator';
import { StolenTimeRecord } from '@pvlab/pv-time';
import { EchoDevice, VMBUS_STATE } from '@pvlab/vmbus-ring/host';
import { failureToJson, formatFailure } from './guest-failures.js';
import {
  type PreparedGuest,
  prepareGuest,
  syntaxErrorPlace,
  TYPESCRIPT_GUEST,
  WASM_GUEST,
} from './guest-module.js';
import { interruptedMessage, RunInterrupted } from './interrupt.js';
import { restoreVmFileForPrograms } from './restore.js';
import { writeSnapshotFile } from './snapshot.js';
import { runGuest } from './threaded/run.js';
import type { RunResult } from './threaded/run-api.js';
import { toChromeTrace } from './trace/chrome.js';
import { createProgress, type ProgressStream } from './trace/progress.js';
import {
  failedCalls,
  formatSummaryTable,
  type SummaryClock,
  summarizeHypercalls,
  summaryToJson,
} from './trace/summary.js';
import { writeTraceFile } from './trace/write.js';
import { pvlabVersions } from './versions.js';
import { createVm, type Vm } from './vm.js';
import { givenVmFlags, type VmFlags, vmOptionsFromFlags } from './vm-flags.js';
import { vmInternals } from './vm-internals.js';

/** Bad user input for `run`/`demo`: one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `pvlab-host run` options, parsed. */
export interface RunCommandOptions extends VmFlags {
  /** vCPUs (default 1, or the snapshot's with `restore`). */
  readonly vcpus?: number;
  /** VM architecture (default x64, or the snapshot's with `restore`). */
  readonly arch?: 'x64' | 'arm64';
  /** A guest program file; the guest-emulator image when absent. */
  readonly guest?: string;
  readonly seed?: number;
  /** Where to write the Chrome trace-event JSON. */
  readonly trace?: string;
  readonly json?: boolean;
  readonly timeout?: number;
  /** `key=value` options for the guest program (`cpu.args`). */
  readonly guestArg?: readonly string[];
  /** The VMBus host corrupts shared ring state, seeded by this. */
  readonly hostileHost?: number;
  /** An isolation VM with its shared GPA boundary at 2^isolation. */
  readonly isolation?: number;
  /** Write the VM's snapshot here when the run ends. */
  readonly save?: string;
  /** Start from this snapshot instead of a fresh VM. */
  readonly restore?: string;
}

/** Where the CLI writes: stdout-like and stderr-like sinks, and the stream progress goes to. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  readonly progressStream?: ProgressStream;
  /** Aborted with a RunInterrupted on SIGINT/SIGTERM: the run stops and writes no files. */
  readonly interrupt?: AbortSignal;
}

/** Exit codes: 0 passed, 1 the guest failed, 2 bad user input (flags, guest file), 70 a bug of pvlab-host. */
export const ExitCode = { OK: 0, GUEST_FAILED: 1, USAGE: 2, INTERNAL: 70 } as const;

const DEFAULT_MEMORY_BYTES = 16 * 1024 * 1024;

function checkGuestFile(path: string): string {
  const full = resolve(path);
  if (!existsSync(full))
    throw new UsageError(`--guest '${path}': no such file (give a .mjs, .js, .ts or .wasm guest)`);
  if (!statSync(full).isFile())
    throw new UsageError(`--guest '${path}': not a file (give a .mjs, .js, .ts or .wasm guest)`);
  if (!/\.(mjs|js)$/.test(full) && !TYPESCRIPT_GUEST.test(full) && !WASM_GUEST.test(full)) {
    throw new UsageError(`--guest '${path}': not a guest (accepted: .mjs, .js, .ts, .mts, .wasm)`);
  }
  return full;
}

function parseGuestArgs(pairs: readonly string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--guest-arg '${pair}': expected key=value`);
    args[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return args;
}

/**
 * The VMBus echo device's traffic, timed on the host between its first and last echo (wall clock,
 * so it stays out of the trace, which a seed makes reproducible).
 */
function echoThroughput(vm: Vm): { line: string; json: Record<string, number> } | undefined {
  const vmbus = vm.options.arch === 'x64' ? vm.partition.extensionState(VMBUS_STATE) : undefined;
  const echo = [...(vmbus?.server.channels.values() ?? [])]
    .map((ch) => ch.device)
    .find((d): d is EchoDevice => d instanceof EchoDevice);
  const c = echo?.counters;
  if (c === undefined || c.packets === 0) return undefined;
  const ms = Math.max(c.lastEchoMs - c.firstEchoMs, 1e-3);
  const mbps = c.bytes / 1e6 / (ms / 1000);
  const kpps = c.packets / ms;
  return {
    line: `vmbus echo device: ${c.packets} packets, ${(c.bytes / 1e6).toFixed(2)} MB in ${ms.toFixed(1)} ms — ${mbps.toFixed(1)} MB/s, ${kpps.toFixed(1)} k packets/s (${c.completions} completions, host→guest ring full ${c.stalls}×)`,
    json: {
      packets: c.packets,
      bytes: c.bytes,
      ms: Math.round(ms * 1000) / 1000,
      mbPerS: Math.round(mbps * 10) / 10,
      completions: c.completions,
      stalls: c.stalls,
    },
  };
}

/** Each vCPU's stolen time as its record holds it at the end of the run. */
function formatStealTable(steal: readonly (bigint | undefined)[]): string {
  const rows = steal.map((ns, i) => [
    `vCPU ${i}`,
    ns === undefined ? 'no record' : `${(Number(ns) / 1000).toFixed(3)} µs`,
  ]);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  return [
    'stolen time (PV_TIME record, host view)',
    ...rows.map(([a, b]) => `  ${a!.padEnd(width)}  ${b}`),
  ].join('\n');
}

/** An output file's path, checked before the run so that a bad one costs nothing. */
function checkOutputPath(flag: string, path: string): string {
  const full = resolve(path);
  const dir = dirname(full);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`${flag} '${path}': directory '${dir}' does not exist`);
  }
  if (existsSync(full) && statSync(full).isDirectory())
    throw new UsageError(`${flag} '${path}': is a directory`);
  return full;
}

/**
 * The VMM's part of PV time (spec 06 rule 8): whole 64 KiB pages at the top of RAM, reserved for
 * the stolen-time records, one per vCPU, 64 bytes apart; each vCPU's IPA set once.
 */
function placeStolenTimeRecords(vm: Vm): void {
  const region = Math.ceil((vm.vcpus * StolenTimeRecord.bytes) / PV_TIME_REGION_ALIGN) * PV_TIME_REGION_ALIGN;
  const base = BigInt(vm.ram.size - region);
  for (let i = 0; i < vm.vcpus; i++) vm.vp(i).setStolenTimeIpa(base + BigInt(i * StolenTimeRecord.bytes));
}

const PV_TIME_REGION_ALIGN = 64 * 1024;

/** The VM to run: restored from `--restore`, or fresh with room for the guest-emulator's kernel. */
function makeVm(opts: RunCommandOptions): Vm {
  if (opts.restore !== undefined) {
    const vm = restoreVmFileForPrograms(opts.restore);
    if (opts.vcpus !== undefined && opts.vcpus !== vm.vcpus) {
      vm.close();
      throw new UsageError(
        `--vcpus ${opts.vcpus}: the snapshot '${opts.restore}' has ${vm.vcpus} vCPUs (leave --vcpus out or give ${vm.vcpus})`,
      );
    }
    if (opts.isolation !== undefined || opts.hostileHost !== undefined || givenVmFlags(opts).length > 0) {
      vm.close();
      const flags = [
        ...(opts.isolation === undefined ? [] : ['--isolation']),
        ...(opts.hostileHost === undefined ? [] : ['--hostile-host']),
        ...givenVmFlags(opts),
      ];
      throw new UsageError(
        `${flags.join(', ')}: a restored VM keeps the snapshot's settings (leave them out with --restore)`,
      );
    }
    if (opts.arch !== undefined && opts.arch !== vm.options.arch) {
      vm.close();
      throw new UsageError(
        `--arch ${opts.arch}: the snapshot '${opts.restore}' is of an ${vm.options.arch} VM (leave --arch out or give ${vm.options.arch})`,
      );
    }
    return vm;
  }
  const vcpus = opts.vcpus ?? 1;
  const kernelBytes = Math.ceil(kernelMemoryBytes(vcpus) / 4096) * 4096;
  if (opts.guest === undefined && opts.memory !== undefined && opts.memory < kernelBytes) {
    throw new UsageError(
      `--memory ${opts.memory}: the guest-emulator needs at least ${kernelBytes} bytes for ${vcpus} vCPUs`,
    );
  }
  const memoryBytes = opts.memory ?? Math.max(DEFAULT_MEMORY_BYTES, kernelBytes);
  const shape = {
    ...vmOptionsFromFlags(opts),
    ...(opts.hostileHost === undefined ? {} : { hostileHost: { seed: opts.hostileHost } }),
  };
  if (opts.isolation !== undefined) {
    if (opts.arch === 'arm64') {
      throw new UsageError(`--isolation ${opts.isolation}: isolation VMs are x64 (leave out --arch arm64)`);
    }
    return createVm({ vcpus, memoryBytes, isolation: { sharedGpaBoundaryBits: opts.isolation }, ...shape });
  }
  if (opts.arch !== 'arm64') return createVm({ vcpus, memoryBytes, ...shape });
  if (opts.hostileHost !== undefined) {
    throw new UsageError(
      `--hostile-host ${opts.hostileHost}: the hostile host tampers with VMBus rings, an x64 device`,
    );
  }
  const vm = createVm({ ...shape, arch: 'arm64', vcpus, memoryBytes });
  if (vmInternals(vm).accountsStolenTime()) placeStolenTimeRecords(vm);
  return vm;
}

/** The built-in guest's `--guest-arg`s, checked before the run: a bad one is user input (exit 2). */
function checkBuiltInGuestArgs(vm: Vm, args: Record<string, string>): void {
  try {
    checkGuestEmulatorArgs(vm.options.arch, args);
  } catch (e) {
    vm.close();
    if (e instanceof KernelArgError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * Runs a guest program on vCPU threads (the guest-emulator unless `--guest` names another),
 * prints its log and the per-call summary (or JSON), writes the trace. Returns the exit code.
 */
export async function runCommand(opts: RunCommandOptions, io: CommandIo): Promise<number> {
  const guestFile = opts.guest === undefined ? undefined : checkGuestFile(opts.guest);
  const tracePath = opts.trace === undefined ? undefined : checkOutputPath('--trace', opts.trace);
  const savePath = opts.save === undefined ? undefined : checkOutputPath('--save', opts.save);
  const args = parseGuestArgs(opts.guestArg ?? []);
  const print = (line: string) => io.out(`${line}\n`);
  const vm = makeVm(opts);
  if (opts.guest === undefined) checkBuiltInGuestArgs(vm, args);
  const vcpus = vm.vcpus;
  let prepared: PreparedGuest | undefined;
  try {
    prepared = guestFile === undefined ? undefined : await prepareGuest(guestFile);
  } catch (e) {
    vm.close();
    throw e;
  }
  const guest = prepared?.url ?? guestImageUrl();
  // Decoding each call costs more than the call: only when a trace or --json will show it.
  if (tracePath !== undefined || opts.json) vm.partition.dispatcher.recordDetails(true);

  const progress = createProgress({ stream: io.progressStream ?? { isTTY: false, write: () => true } });
  let result: RunResult | RunInterrupted;
  try {
    result = await runGuest(vm, {
      ...(io.interrupt === undefined ? {} : { signal: io.interrupt }),
      guest,
      args,
      ...(opts.seed === undefined ? {} : { seed: opts.seed }),
      ...(opts.timeout === undefined ? {} : { timeoutMs: opts.timeout }),
      ...(opts.json ? {} : { onLog: (_vp: number, line: string) => print(line) }),
      onProgress: (p) =>
        progress.update(
          `${p.hypercalls.toLocaleString('en-US')} hypercalls · ${p.running}/${p.vcpus} vCPUs running`,
        ),
    });
  } catch (error) {
    if (!(error instanceof RunInterrupted)) throw error;
    result = error;
  } finally {
    progress.stop();
    prepared?.cleanup();
  }
  if (result instanceof RunInterrupted) {
    vm.close();
    io.err(`${interruptedMessage(result, { trace: opts.trace, save: opts.save })}\n`);
    return result.exitCode;
  }
  const mapFailure = prepared?.mapFailure ?? ((f) => f);
  result = { ...result, failures: result.failures.map(mapFailure) };
  const diagnostics = vm.takeDiagnostics();
  const echo = echoThroughput(vm);
  // Host-side truth of each record, before the VM closes (arm64 with PV time only).
  const steal = vmInternals(vm).accountsStolenTime()
    ? Array.from({ length: vcpus }, (_, i) => vmInternals(vm).pvTimeOf('steal').recordedStolenTime(i))
    : undefined;
  const loadFailure = result.failures.find((f) => f.kind === 'load');
  const thrown = result.failures.filter((f) => f.kind === 'throw');
  // A guest that would not load, or threw, is bad input: no snapshot of it is written.
  if (savePath && !loadFailure && thrown.length === 0) writeSnapshotFile(savePath, vm.save());
  vm.close();

  if (loadFailure) {
    // A SyntaxError in a module the guest imports comes without its place: find it.
    const place =
      guestFile !== undefined && loadFailure.stack === undefined && /SyntaxError/.test(loadFailure.message)
        ? await syntaxErrorPlace(guestFile)
        : undefined;
    io.err(formatFailure(place === undefined ? loadFailure : { ...loadFailure, stack: [place] }));
    return ExitCode.USAGE;
  }

  const summary = summarizeHypercalls(result.events);
  // Parallel runs keep a thread per vCPU and the host thread busy.
  const clock: SummaryClock =
    opts.seed === undefined
      ? { clock: 'real', threads: vcpus + 1, cores: availableParallelism() }
      : { clock: 'virtual' };
  if (tracePath) {
    const meta = {
      vcpus,
      guest: opts.guest ?? '@pvlab/guest-emulator',
      ...(opts.seed === undefined ? {} : { seed: opts.seed }),
    };
    writeTraceFile(tracePath, toChromeTrace(result.events, meta));
  }
  const passed = result.passed && diagnostics.length === 0;
  if (opts.json) {
    print(
      JSON.stringify(
        {
          passed,
          vcpus,
          seed: opts.seed ?? null,
          durationMs: Math.round(result.durationMs * 1000) / 1000,
          arch: vm.options.arch,
          hypercalls: result.hypercalls,
          ...(steal ? { stolenTimeNs: steal.map((ns) => (ns === undefined ? null : ns.toString())) } : {}),
          ...(echo ? { vmbusEcho: echo.json } : {}),
          summary: summaryToJson(summary),
          failedCalls: failedCalls(result.events),
          times: clock.clock === 'real' ? { ...clock, oversubscribed: clock.threads > clock.cores } : clock,
          failures: result.failures.map(failureToJson),
          diagnostics,
          reports: result.reports,
          log: result.log,
          trace: tracePath ?? null,
          snapshot: savePath ?? null,
          restoredFrom: opts.restore ?? null,
          versions: { ...pvlabVersions(), ...(opts.guest === undefined ? {} : { guestEmulator: null }) },
        },
        null,
        2,
      ),
    );
  } else {
    print('');
    print(formatSummaryTable(summary, clock));
    const mode = opts.seed === undefined ? 'parallel' : `seed ${opts.seed}`;
    if (steal) print(`\n${formatStealTable(steal)}`);
    if (echo) print(`\n${echo.line}`);
    const calls =
      vm.options.arch === 'arm64' ? `${summary.total.count} SMCCC calls` : `${result.hypercalls} hypercalls`;
    print(`\n${vcpus} ${vm.options.arch} vCPUs, ${mode}, ${calls} in ${result.durationMs.toFixed(1)} ms`);
    if (tracePath) print(`trace: ${tracePath} (open it in https://ui.perfetto.dev or chrome://tracing)`);
    if (savePath && !loadFailure && thrown.length === 0) print(`snapshot: ${savePath}`);
  }
  for (const f of result.failures) io.err(formatFailure(f));
  for (const d of diagnostics) io.err(`pvlab-host: conformance [${d.rule}] VP ${d.vp}: ${d.message}\n`);
  if (thrown.length > 0) return ExitCode.USAGE;
  return passed ? ExitCode.OK : ExitCode.GUEST_FAILED;
}
