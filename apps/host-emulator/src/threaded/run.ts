/**
 * `runGuest`: a guest program on one worker thread per vCPU, every exit handled on this thread.
 * The pieces, in the order an exit meets them: `workers.ts` starts the vCPU threads, whose exits
 * cross `mailbox.ts`; `exit-loop.ts` waits for them and schedules the vCPUs; a hypercall exit
 * takes `hypercall-exit.ts`, every other kind `exits.ts`; `exit-log.ts` records each one and
 * decodes the log into trace events when the run ends. `host.ts` holds the state they share.
 */
import type { Vm } from '../vm.js';
import { ExitLoop } from './exit-loop.js';
import { ThreadedHost } from './host.js';
import { HypercallExitPath } from './hypercall-exit.js';
import type { RunGuestOptions, RunResult } from './run-api.js';
import { loadWasmGuestFor } from './wasm-guest-load.js';
import { guestUrl, VcpuThreads } from './workers.js';

/**
 * Runs a guest program on one worker thread per vCPU of `vm`, every exit handled by the VM's
 * partition on this thread. Without a seed the vCPUs run in parallel; with one, one at a time.
 */
export async function runGuest(vm: Vm, options: RunGuestOptions): Promise<RunResult> {
  if (options.schedule !== undefined && options.seed === undefined)
    throw new RangeError('runGuest: a schedule needs a seed (a seeded run picks one vCPU at a time)');
  if (options.maxExits !== undefined) {
    if (options.seed === undefined)
      throw new RangeError('runGuest: maxExits needs a seed (a seeded run counts exits)');
    if (!Number.isSafeInteger(options.maxExits) || options.maxExits < 1)
      throw new RangeError(`runGuest: maxExits ${options.maxExits} is not a positive integer`);
  }
  const host = new ThreadedHost(vm, options);
  options.signal?.throwIfAborted();
  const wasm = loadWasmGuestFor(vm, guestUrl(options.guest));
  if (wasm !== undefined && 'refused' in wasm) return refusedGuest(host, wasm.refused);
  const hypercalls = new HypercallExitPath(host);
  const threads = new VcpuThreads(host, wasm?.compiled, options.threads);
  try {
    await new ExitLoop(host, hypercalls, () => threads.terminate()).run();
  } finally {
    // Whatever happened, no worker outlives the run; an aborted run does not wait for them.
    const aborted = options.signal?.aborted === true;
    if (aborted) host.terminate();
    await threads.stop(aborted);
  }
  options.signal?.throwIfAborted();
  host.log.timeLastHypercalls();
  return {
    passed: host.failures.size === 0,
    failures: [...host.failures.values()],
    reports: host.reports,
    events: host.log.decodedEvents(vm.partition.dispatcher),
    log: host.lines,
    hypercalls: host.hypercalls,
    durationMs: host.clockMs(),
    seed: options.seed,
    ...(host.scheduler === undefined ? {} : { schedule: host.scheduler.schedule }),
  };
}

/** A run that never started: the guest did not load or does not fit the VM (every vCPU fails to load). */
function refusedGuest(host: ThreadedHost, message: string): RunResult {
  const vps = Array.from({ length: host.vcpus }, (_, vp) => vp);
  return {
    passed: false,
    failures: [{ kind: 'load', message, vps }],
    reports: host.reports,
    events: [],
    log: [],
    hypercalls: 0,
    durationMs: host.clockMs(),
    seed: host.options.seed,
  };
}
