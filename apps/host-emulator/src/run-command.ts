import { availableParallelism } from 'node:os';
import { guestImageUrl } from '@pvlab/guest-emulator';
import { EchoDevice, VMBUS_STATE } from '@pvlab/vmbus-ring/host';
import { failureToJson, formatFailure } from './guest-failures.js';
import { type PreparedGuest, prepareGuest, syntaxErrorPlace } from './guest-module.js';
import { interruptedMessage, RunInterrupted } from './interrupt.js';
import {
  checkBuiltInGuestArgs,
  checkGuestFile,
  checkOutputPath,
  makeVm,
  parseGuestArgs,
  UsageError,
  type VmRequest,
} from './run-inputs.js';
import { readScheduleForRun } from './schedule-replay.js';
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
import type { Vm } from './vm.js';
import { vmInternals } from './vm-internals.js';

export { UsageError };

/** `pvlab-host run` options, parsed. */
export interface RunCommandOptions extends VmRequest {
  readonly seed?: number;
  /** Replay a schedule file written by `explore` (its seed, vCPUs, guest and args unless given). */
  readonly schedule?: string;
  /** Where to write the Chrome trace-event JSON. */
  readonly trace?: string;
  readonly json?: boolean;
  readonly timeout?: number;
  /** `key=value` options for the guest program (`cpu.args`). */
  readonly guestArg?: readonly string[];
  /** Write the VM's snapshot here when the run ends. */
  readonly save?: string;
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

/**
 * Runs a guest program on vCPU threads (the guest-emulator unless `--guest` names another),
 * prints its log and the per-call summary (or JSON), writes the trace. Returns the exit code.
 */
export async function runCommand(given: RunCommandOptions, io: CommandIo): Promise<number> {
  const replay = given.schedule === undefined ? undefined : readScheduleForRun(given);
  const opts = replay?.opts ?? given;
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
      ...(replay === undefined ? {} : { schedule: replay.strategy }),
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
  if (replay !== undefined && replay.strategy.divergences > 0) {
    io.err(
      `pvlab-host: the run left the schedule '${given.schedule}' at ${replay.strategy.divergences} of its decisions (a recorded vCPU could not run): the guest, its args or the VM flags differ from the run that wrote it\n`,
    );
  }
  for (const f of result.failures) io.err(formatFailure(f));
  for (const d of diagnostics) io.err(`pvlab-host: conformance [${d.rule}] VP ${d.vp}: ${d.message}\n`);
  if (thrown.length > 0) return ExitCode.USAGE;
  return passed ? ExitCode.OK : ExitCode.GUEST_FAILED;
}
