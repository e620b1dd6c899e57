import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  decodeHypercallControl,
  decodeHypercallResult,
  type GuestFault,
  hvCallName,
  hvStatusName,
  isGuestFault,
} from '@pvlab/hypercall';
import { isHypercallSuspended } from '@pvlab/hypercall/host';
import { ISOLATION_STATE } from '@pvlab/isolation/host';
import { smcccFunctionName, smcccReturnCodeName } from '@pvlab/pv-time';
import type { RunEvent } from '../trace/events.js';
import type { IsolationVm, Vm } from '../vm.js';
import { type VmInternals, vmInternals } from '../vm-internals.js';
import { CallDetails } from './call-details.js';
import { parseFailureText } from './guest-error.js';
import { Completion, ExitKind, FailKind, Mailboxes, MailboxHypercallIo, spinLimitFor } from './mailbox.js';
import { SeededScheduler, VIRTUAL_EXIT_US, VIRTUAL_SEGMENT_US } from './scheduler.js';
import type { VcpuWorkerData } from './vcpu-worker.js';

/** How to run a guest program on vCPU threads. */
export interface RunGuestOptions {
  /** Path or `file:` URL of the guest program module (its default export runs on every vCPU). */
  readonly guest: string | URL;
  /** Deterministic mode: one vCPU runs at a time, in an order drawn from this seed, on a virtual clock. */
  readonly seed?: number;
  /** Each boot-log line as the guest writes it. */
  readonly onLog?: (vp: number, line: string) => void;
  /** Called every few milliseconds with the run's progress. */
  readonly onProgress?: (progress: RunProgress) => void;
  /** Ends the run as failed after this long (default: no limit). */
  readonly timeoutMs?: number;
  /** Options for the guest program (`cpu.args`). */
  readonly args?: Readonly<Record<string, string>>;
  /**
   * Stops the run when aborted (noticed within a time slice, ~10 ms): the vCPU threads are
   * terminated and `runGuest` rejects with `signal.reason`.
   */
  readonly signal?: AbortSignal;
}

/** A progress snapshot. */
export interface RunProgress {
  readonly hypercalls: number;
  readonly running: number;
  readonly vcpus: number;
  readonly elapsedMs: number;
}

/**
 * Why a run failed: the guest module did not load (`load`) or the program threw an exception of
 * its own (`throw`) — both bad user input; the program failed (`program`: cpu.fail(), an
 * unhandled GuestFault, a failed assertion); or the run itself did (`run`: deadlock, timeout, a
 * vCPU thread that died).
 */
export interface RunFailure {
  readonly kind: 'load' | 'throw' | 'program' | 'run';
  readonly message: string;
  /** The vCPUs that failed this way (empty for run failures). */
  readonly vps: readonly number[];
  /**
   * An exception's stack: the guest's own frames (`fn (file:line:column)`), innermost first; a
   * load-time SyntaxError's place (`file:line:column`). Absent when there is none.
   */
  readonly stack?: readonly string[];
}

/** How a run ended. */
export interface RunResult {
  readonly passed: boolean;
  /** Why vCPUs failed (one entry per distinct reason, with the vCPUs that gave it). */
  readonly failures: readonly RunFailure[];
  /** Values the guest reported, per vCPU. */
  readonly reports: readonly Record<string, unknown>[];
  /** Every exit, interrupt and log line, in the order the host saw them. */
  readonly events: readonly RunEvent[];
  readonly log: readonly { readonly vp: number; readonly line: string }[];
  readonly hypercalls: number;
  /** Wall-clock duration. */
  readonly durationMs: number;
  readonly seed: number | undefined;
}

/**
 * Hypercall exits as recorded on the hot path: columns of typed arrays (the raw control value and
 * result as u32 halves, or a fault), decoded into events when the run ends. No object per exit,
 * so a long hypercall loop does not grow the heap by an object per call.
 */
class RawHypercallLog {
  length = 0;
  #vp = new Uint32Array(1024);
  #ts = new Float64Array(1024);
  #dur = new Float64Array(1024);
  /** Control lo, control hi, result lo, result hi. */
  #words = new Uint32Array(4 * 1024);
  /** 0: a result; else the index + 1 of the fault or outcome name in `OUTCOMES`. */
  #outcome = new Uint8Array(1024);

  push(
    vp: number,
    ts: number,
    dur: number,
    ctlLo: number,
    ctlHi: number,
    resLo: number,
    resHi: number,
    outcome: number,
  ): number {
    if (this.length === this.#vp.length) this.#grow();
    const i = this.length++;
    this.#vp[i] = vp;
    this.#ts[i] = ts;
    this.#dur[i] = dur;
    this.#words[4 * i] = ctlLo;
    this.#words[4 * i + 1] = ctlHi;
    this.#words[4 * i + 2] = resLo;
    this.#words[4 * i + 3] = resHi;
    this.#outcome[i] = outcome;
    return i;
  }

  /**
   * Hypercall exits in parallel runs are timed after they complete: the completion time first
   * (kept in the duration column until the start is known), then the vCPU's stamp of when it
   * posted the exit.
   */
  setDone(i: number, doneUs: number): void {
    this.#dur[i] = doneUs;
  }
  setStart(i: number, startUs: number): void {
    const done = this.#dur[i]!;
    // No stamp (a vCPU stopped before writing it): the completion time, a zero-length slice.
    const start = Number.isNaN(startUs) ? done : startUs;
    this.#ts[i] = start;
    this.#dur[i] = Math.max(0, done - start);
  }

  entry(i: number) {
    const w = this.#words;
    const outcome = this.#outcome[i]!;
    return {
      vp: this.#vp[i]!,
      ts: this.#ts[i]!,
      dur: this.#dur[i]!,
      control: BigInt(w[4 * i]!) | (BigInt(w[4 * i + 1]!) << 32n),
      outcome:
        outcome === 0 ? BigInt(w[4 * i + 2]!) | (BigInt(w[4 * i + 3]!) << 32n) : OUTCOMES[outcome - 1]!,
    };
  }

  #grow(): void {
    const n = this.#vp.length * 2;
    const grow = <T extends Uint32Array | Float64Array | Uint8Array>(
      a: T,
      make: (n: number) => T,
      factor = 1,
    ): T => {
      const b = make(n * factor);
      b.set(a as never);
      return b;
    };
    this.#vp = grow(this.#vp, (k) => new Uint32Array(k));
    this.#ts = grow(this.#ts, (k) => new Float64Array(k));
    this.#dur = grow(this.#dur, (k) => new Float64Array(k));
    this.#words = grow(this.#words, (k) => new Uint32Array(k), 4);
    this.#outcome = grow(this.#outcome, (k) => new Uint8Array(k));
  }
}

/** What a hypercall exit ended in when it produced no result. */
const OUTCOMES = ['#UD', '#GP', '#MEMORY', 'SUSPENDED'] as const;
const OUTCOME_CODE: Readonly<Record<string, number>> = { '#UD': 1, '#GP': 2, '#MEMORY': 3, SUSPENDED: 4 };

/**
 * `suspended`: parked in a hypercall a handler suspended (a TLB flush waiting on a locked VP);
 * `resumed`: released by `resumeWaiters`, its hypercall to be re-executed when it next runs.
 */
type VpPhase = 'loading' | 'running' | 'stopped' | 'halted' | 'suspended' | 'resumed' | 'finished';

/** Raised when the threaded host itself breaks; carries what it knew. */
export class ThreadedHostError extends Error {
  override readonly name = 'ThreadedHostError';
}

const MAX_SLICE_MS = 10;
/** X1..X14: the SMCCC arguments a vCPU mailbox carries. */
const SMCCC_ARG_REGS = 14;
const FAULT_COMPLETION = {
  UD: Completion.FAULT_UD,
  GP: Completion.FAULT_GP,
  MEMORY: Completion.FAULT_MEMORY,
} as const;

/** Where the bundled vCPU worker is: beside this module in `dist`, or in `dist` when run from `src`. */
function vcpuWorkerUrl(): URL {
  for (const rel of ['./vcpu.mjs', '../vcpu.mjs', '../../dist/vcpu.mjs']) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new ThreadedHostError(
    'the vCPU worker bundle (dist/vcpu.mjs) is missing: build @pvlab/host-emulator first',
  );
}

function guestUrl(guest: string | URL): string {
  if (guest instanceof URL) return guest.href;
  return guest.startsWith('file:') ? guest : pathToFileURL(guest).href;
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

/**
 * Runs a guest program on one worker thread per vCPU of `vm`, every exit handled by the VM's
 * partition on this thread. Without a seed the vCPUs run in parallel; with one, one at a time.
 */
export async function runGuest(vm: Vm | IsolationVm, options: RunGuestOptions): Promise<RunResult> {
  // An IsolationVm is a Vm whose `memory` is typed as the guest's boundary view.
  const host = new ThreadedHost(vm as Vm, options);
  return host.run();
}

class ThreadedHost {
  readonly #vm: Vm;
  readonly #internals: VmInternals;
  readonly #options: RunGuestOptions;
  readonly #n: number;
  readonly #mb: Mailboxes;
  readonly #phase: VpPhase[];
  /** 1 for the vCPUs whose next exit the host waits for (see `#setPhase`). */
  readonly #watch: Uint8Array;
  /** The completion each stopped vCPU will get when it is released (seeded runs). */
  readonly #pending: number[];
  /** When each halted vCPU halted (µs). */
  readonly #haltedAt: number[];
  /**
   * Every event but hypercall exits, in order; hypercall exits stay in `#raw` (decoded when the
   * run ends), and `#rawMarks[i]` is how many of them came before event `i`.
   */
  readonly #events: RunEvent[] = [];
  readonly #rawMarks: number[] = [];
  readonly #raw = new RawHypercallLog();
  /** Each exit's decoded call, when the dispatcher records details (`--trace`, `--json`). */
  readonly #details: CallDetails | undefined;
  /** Each vCPU's mailbox registers as the dispatcher's HypercallIo (no copies). */
  readonly #io: MailboxHypercallIo[];
  readonly #log: { vp: number; line: string }[] = [];
  readonly #reports: Record<string, unknown>[];
  readonly #failures = new Map<string, RunFailure & { vps: number[] }>();
  readonly #scheduler: SeededScheduler | undefined;
  /**
   * The run's clock: ms since it started, from `performance.now()`. Epoch milliseconds would do
   * across threads, but a float64 near 1.7e12 resolves only 0.24 µs; the vCPU threads get the
   * start as an epoch time once and count from it (`VcpuWorkerData.runStartEpochMs`).
   */
  readonly #startNow = performance.now();
  readonly #startEpochMs = performance.timeOrigin + this.#startNow;
  /**
   * Parallel runs time hypercall exits off the round trip. Per vCPU: its hypercall exits so far
   * (the vCPU counts the same), the log entry of the last one that still waits for its completion
   * time, and the entry (and its exit number) that waits for the vCPU's stamp.
   */
  readonly #hypercallExits: Uint32Array;
  readonly #awaitingDone: Int32Array;
  readonly #awaitingStamp: Int32Array;
  readonly #awaitingStampSeq: Uint32Array;
  /** The fast-output slots last written to each vCPU's mailbox (`#setOutputSlots`). */
  readonly #outFirst: Int32Array;
  readonly #outCount: Int32Array;
  #hypercalls = 0;
  #terminating = false;
  /** The vCPU whose exit is being handled (host-side events name it). */
  #currentVp = 0;
  /** Isolation VMs: the buffers a vCPU thread builds its guest view from. */
  readonly #isolationShared: VcpuWorkerData['isolation'];
  /** Parallel arm64 runs measure each vCPU's wait between its release and its resumption (stolen time). */
  readonly #measuresSteal: boolean;
  /**
   * Parallel runs of VMs without stolen-time accounting (x64) take hypercall exits on a short
   * path (`#hypercallExit`): nothing of the generic exit bookkeeping applies to them.
   */
  readonly #shortHypercalls: boolean;
  /** More busy threads than cores: a vCPU may lose its core between posting an exit and stamping it. */
  readonly #oversubscribed: boolean;
  /** When each vCPU was last released (ms since the run started; 0: not since its last exit), for stolen-time accounting. */
  readonly #releasedAt: Float64Array;
  #workers: Worker[] = [];

  constructor(vm: Vm, options: RunGuestOptions) {
    this.#vm = vm;
    this.#internals = vmInternals(vm);
    this.#options = options;
    this.#n = vm.vcpus;
    // The host thread plus one per vCPU; a seeded run has only two busy at any moment.
    const busyThreads = options.seed === undefined ? this.#n + 1 : 2;
    this.#mb = Mailboxes.create(this.#n, spinLimitFor(busyThreads, availableParallelism()));
    this.#oversubscribed = busyThreads > availableParallelism();
    this.#io = Array.from({ length: this.#n }, (_, vp) => new MailboxHypercallIo(this.#mb, vp));
    const dispatcher = vm.partition.dispatcher;
    this.#details = dispatcher.recordsDetails ? new CallDetails(dispatcher) : undefined;
    this.#phase = new Array<VpPhase>(this.#n).fill('loading');
    this.#watch = new Uint8Array(this.#n).fill(1);
    this.#pending = new Array<number>(this.#n).fill(Completion.OK);
    this.#haltedAt = new Array<number>(this.#n).fill(0);
    this.#reports = Array.from({ length: this.#n }, () => ({}));
    this.#scheduler = options.seed === undefined ? undefined : new SeededScheduler(options.seed);
    vm.partition.onInterrupt((vp, vector) => this.#onInterrupt(vp, vector));
    // Called from inside another VP's exit (the one that cleared the lock): only mark it here;
    // the loops re-execute the parked hypercall, never re-entering the dispatcher.
    vm.partition.onResume((vp) => {
      if (this.#phase[vp] === 'suspended') this.#setPhase(vp, 'resumed');
    });
    this.#measuresSteal = vm.accountsStolenTime && options.seed === undefined;
    this.#shortHypercalls = !vm.accountsStolenTime && options.seed === undefined;
    // Isolation VMs: what the host was refused, and visibility changes, go in the trace.
    const isolation = vm.partition.extensionState(ISOLATION_STATE);
    isolation?.onEvent((e) => {
      const vp = e.kind === 'visibility-changed' ? e.vp : this.#currentVp;
      const message =
        e.kind === 'visibility-changed'
          ? `visibility ${e.visibility} on ${e.pages} page(s), ${e.converted} converted`
          : e.kind === 'host-access-refused'
            ? e.error.message
            : e.fault.message;
      this.#event({ kind: 'isolation', vp, ts: this.#now(), what: e.kind, message });
    });
    this.#isolationShared = isolation?.shared;
    this.#releasedAt = new Float64Array(this.#n);
    this.#hypercallExits = new Uint32Array(this.#n);
    this.#awaitingDone = new Int32Array(this.#n).fill(-1);
    this.#awaitingStamp = new Int32Array(this.#n).fill(-1);
    this.#awaitingStampSeq = new Uint32Array(this.#n);
    this.#outFirst = new Int32Array(this.#n);
    this.#outCount = new Int32Array(this.#n);
    this.#internals.onStolenTimeUpdate((u) => {
      if (u.stolenTime !== u.previous) {
        this.#event({ kind: 'steal', vp: u.vcpu, ts: this.#now(), stolenNs: u.stolenTime.toString() });
      }
    });
  }

  /** µs since the start of the run: the virtual clock when seeded. */
  #now(): number {
    return this.#scheduler ? this.#scheduler.now : this.#clockMs() * 1000;
  }

  /** When `vp` posted its current exit (µs). */
  #exitTime(vp: number): number {
    return this.#scheduler ? this.#scheduler.now : this.#mb.time(vp) * 1000;
  }

  /** ms since the run started (both threads' stamps count from the same start). */
  #clockMs(): number {
    return performance.now() - this.#startNow;
  }

  async run(): Promise<RunResult> {
    this.#options.signal?.throwIfAborted();
    const partition = this.#vm.partition;
    const data = (vp: number): VcpuWorkerData => ({
      vp,
      vcpus: this.#n,
      memory: this.#vm.ram.buffer,
      mailboxes: this.#mb.buffer,
      interrupts: partition.interrupts.buffer as SharedArrayBuffer,
      guestUrl: guestUrl(this.#options.guest),
      spinLimit: this.#mb.spinLimit,
      args: { ...this.#options.args },
      restored: this.#vm.restored,
      arch: this.#vm.options.arch,
      recordResume: this.#measuresSteal,
      runStartEpochMs: this.#startEpochMs,
      stampBeforePosting: this.#oversubscribed,
      isolation: this.#isolationShared,
    });
    const url = vcpuWorkerUrl();
    const exited: Promise<void>[] = [];
    for (let vp = 0; vp < this.#n; vp++) {
      const w = new Worker(url, { workerData: data(vp) });
      this.#workers.push(w);
      exited.push(
        new Promise((resolve) => {
          w.once('error', (e) => {
            this.#fail(vp, `vCPU thread crashed: ${e instanceof Error ? e.message : String(e)}`);
            this.#setPhase(vp, 'finished');
          });
          w.once('exit', () => {
            if (this.#phase[vp] !== 'finished') {
              this.#fail(vp, 'vCPU thread exited without finishing its program');
              this.#setPhase(vp, 'finished');
            }
            resolve();
          });
        }),
      );
    }
    try {
      if (this.#scheduler) await this.#runSeeded(this.#scheduler);
      else await this.#runParallel();
    } finally {
      // Whatever happened, no worker outlives the run; an aborted run does not wait for them.
      if (this.#options.signal?.aborted) this.#terminate();
      else await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 1000).unref())]);
      await Promise.all(this.#workers.map((w) => w.terminate()));
    }
    this.#options.signal?.throwIfAborted();
    // Stamps the vCPUs left for exits no later exit followed (a vCPU that was stopped).
    for (let vp = 0; vp < this.#n; vp++) {
      this.#timeHypercalls(vp);
      const entry = this.#awaitingStamp[vp]!;
      if (entry >= 0) this.#stampEntry(vp, entry, this.#awaitingStampSeq[vp]!);
    }
    return {
      passed: this.#failures.size === 0,
      failures: [...this.#failures.values()],
      reports: this.#reports,
      events: this.#decodedEvents(),
      log: this.#log,
      hypercalls: this.#hypercalls,
      durationMs: this.#clockMs(),
      seed: this.#options.seed,
    };
  }

  /**
   * Sets a vCPU's phase and whether the host waits for its next exit: only a loading or running
   * vCPU's exit is handled; a halted or suspended one sits in its exit until the host acts.
   */
  #setPhase(vp: number, phase: VpPhase): void {
    this.#phase[vp] = phase;
    this.#watch[vp] = phase === 'loading' || phase === 'running' ? 1 : 0;
  }

  // A method call, so that TypeScript does not narrow a phase that #handleExit may change.
  #phaseOf(vp: number): VpPhase {
    return this.#phase[vp]!;
  }

  #finished(): boolean {
    return this.#phase.every((p) => p === 'finished');
  }

  #checkTimeout(): void {
    const limit = this.#options.timeoutMs;
    if (limit !== undefined && !this.#terminating && this.#clockMs() > limit) {
      this.#fail(-1, `the run took longer than ${limit} ms`);
      this.#terminate();
      // A vCPU spinning without exits never reads its mailbox again: stop its thread.
      for (const w of this.#workers) void w.terminate();
    }
  }

  // Callers check that the slice is due first: an await that is not due would cost a microtask per exit.
  async #yield(lastYield: { t: number }): Promise<void> {
    const t = performance.now();
    lastYield.t = t;
    this.#options.onProgress?.({
      hypercalls: this.#hypercalls,
      running: this.#phase.filter((p) => p !== 'finished').length,
      vcpus: this.#n,
      elapsedMs: t - this.#startNow,
    });
    this.#checkTimeout();
    // Let worker 'error'/'exit' events, timers and signal handlers through.
    await yieldToEventLoop();
    this.#options.signal?.throwIfAborted();
  }

  async #runParallel(): Promise<void> {
    const mb = this.#mb;
    const lastYield = { t: performance.now() };
    let rounds = 0;
    while (!this.#finished()) {
      let handled = false;
      for (let vp = 0; vp < this.#n; vp++) {
        if (this.#phase[vp] === 'resumed') {
          this.#reexecute(vp);
          handled = true;
          if (this.#phaseOf(vp) === 'stopped') this.#release(vp);
          continue;
        }
        const before = this.#phase[vp];
        if (before === 'finished' || before === 'halted' || before === 'suspended' || !mb.hasExit(vp))
          continue;
        if (
          before === 'running' &&
          this.#shortHypercalls &&
          !this.#terminating &&
          mb.kind(vp) === ExitKind.HYPERCALL
        ) {
          this.#hypercallExit(vp);
          handled = true;
          continue;
        }
        this.#handleExit(vp);
        handled = true;
        const after = this.#phaseOf(vp);
        if (after === 'stopped' || after === 'finished') this.#release(vp);
        // The vCPU runs again: now the clock can be read without delaying it.
        this.#timeHypercalls(vp);
      }
      // The clock is read every 64 rounds and after every wait that slept: a clock read per exit
      // would lengthen every round trip.
      let slept = false;
      if (!handled) {
        this.#checkDeadlock();
        slept = !mb.waitForExit(this.#watch, MAX_SLICE_MS);
      }
      if ((slept || (++rounds & 63) === 0) && performance.now() - lastYield.t >= MAX_SLICE_MS)
        await this.#yield(lastYield);
    }
  }

  async #runSeeded(scheduler: SeededScheduler): Promise<void> {
    const mb = this.#mb;
    const lastYield = { t: performance.now() };
    // Every vCPU first stops at START (or FAIL if its guest would not load): a deterministic start.
    while (this.#phase.some((p) => p === 'loading')) {
      for (let vp = 0; vp < this.#n; vp++)
        if (this.#phase[vp] === 'loading' && mb.hasExit(vp)) this.#handleExit(vp);
      if (this.#phase.some((p) => p === 'loading')) mb.waitForExit(this.#watch, MAX_SLICE_MS);
      if (performance.now() - lastYield.t >= MAX_SLICE_MS) await this.#yield(lastYield);
    }
    for (;;) {
      const runnable: number[] = [];
      for (let vp = 0; vp < this.#n; vp++) {
        const phase = this.#phase[vp];
        if (
          phase === 'stopped' ||
          phase === 'resumed' ||
          (phase === 'halted' && this.#vm.partition.interrupts.pending(vp))
        )
          runnable.push(vp);
      }
      if (runnable.length === 0) {
        if (this.#finished()) return;
        if (!this.#checkDeadlock()) {
          throw new ThreadedHostError(`seeded scheduler stuck with phases ${this.#phase.join(', ')}`);
        }
        continue;
      }
      const vp = scheduler.pick(runnable);
      // The others could run but wait while `vp` runs its segment and exit: virtual stolen time.
      if (this.#vm.accountsStolenTime) {
        const waitNs = BigInt(Math.round((VIRTUAL_SEGMENT_US + VIRTUAL_EXIT_US) * 1000));
        for (const other of runnable) if (other !== vp) this.#internals.accountSteal(other, waitNs);
      }
      if (this.#phase[vp] === 'halted') this.#endHalt(vp);
      if (this.#phase[vp] === 'resumed') {
        // Its run starts by re-executing the hypercall it was suspended in.
        scheduler.now += VIRTUAL_SEGMENT_US;
        this.#reexecute(vp);
        scheduler.now += VIRTUAL_EXIT_US;
        if (this.#phaseOf(vp) !== 'stopped') continue;
      }
      this.#release(vp);
      // Only `vp` runs now; wait for its next exit.
      while (!mb.hasExit(vp) && this.#phase[vp] !== 'finished') {
        mb.waitForExit(this.#watch, MAX_SLICE_MS);
        if (performance.now() - lastYield.t >= MAX_SLICE_MS) await this.#yield(lastYield);
      }
      if (this.#phaseOf(vp) === 'finished') continue;
      scheduler.now += VIRTUAL_SEGMENT_US;
      this.#handleExit(vp);
      scheduler.now += VIRTUAL_EXIT_US;
      // A vCPU that finished is let go at once; its end does not change what others see.
      if (this.#phaseOf(vp) === 'finished') this.#release(vp);
      if (performance.now() - lastYield.t >= MAX_SLICE_MS) await this.#yield(lastYield);
    }
  }

  /**
   * Fails the run when no vCPU can ever run again: every unfinished one is halted with nothing
   * pending (only the host or another vCPU could send it an interrupt). Returns whether it did.
   */
  #checkDeadlock(): boolean {
    const halted: number[] = [];
    const suspended: number[] = [];
    for (let vp = 0; vp < this.#n; vp++) {
      const phase = this.#phase[vp];
      if (phase === 'finished') continue;
      if (phase === 'suspended') suspended.push(vp);
      else if (phase !== 'halted' || this.#vm.partition.interrupts.pending(vp)) return false;
      else halted.push(vp);
    }
    if (halted.length === 0 && suspended.length === 0) return false;
    const parts: string[] = [];
    if (halted.length > 0) parts.push(`vCPU ${halted.join(', ')} halted with no interrupt pending`);
    for (const s of this.#vm.partition.suspendedVps()) parts.push(`vCPU ${s.vp} suspended (${s.reason})`);
    this.#fail(-1, `deadlock: ${parts.join('; ')}, and no vCPU left to wake them`);
    this.#terminate();
    return true;
  }

  /** Completes `vp`'s exit with what was decided for it and lets it run. */
  #release(vp: number): void {
    if (this.#phase[vp] !== 'finished') {
      this.#setPhase(vp, 'running');
      // KVM rewrites the stolen-time record as the vCPU is loaded to run again (spec 06 rule 7).
      if (this.#vm.accountsStolenTime) this.#internals.beforeRun(vp);
      if (this.#measuresSteal) this.#releasedAt[vp] = this.#clockMs();
    }
    this.#mb.complete(vp, this.#terminating ? Completion.TERMINATE : this.#pending[vp]!);
  }

  /** Ends the run: every vCPU stopped at an exit (or halted) is told to unwind. */
  #terminate(): void {
    this.#terminating = true;
    for (let vp = 0; vp < this.#n; vp++) {
      const phase = this.#phase[vp];
      if (
        phase === 'halted' ||
        phase === 'suspended' ||
        phase === 'resumed' ||
        phase === 'stopped' ||
        ((phase === 'loading' || phase === 'running') && this.#mb.hasExit(vp))
      ) {
        this.#setPhase(vp, 'finished');
        this.#mb.complete(vp, Completion.TERMINATE);
      }
    }
  }

  #fail(vp: number, message: string, kind: RunFailure['kind'] = 'run', stack: readonly string[] = []): void {
    // Failures with the same reason are one, on every vCPU that had it (the first vCPU's frames are kept).
    let failure = this.#failures.get(message);
    if (!failure) {
      failure = { kind, message, vps: [], ...(stack.length > 0 ? { stack } : {}) };
      this.#failures.set(message, failure);
    }
    if (vp >= 0) failure.vps.push(vp);
  }

  #onInterrupt(vp: number, vector: number): void {
    this.#event({ kind: 'interrupt', vp, ts: this.#now(), vector });
    // Without a seed a halted vCPU wakes at once; with one, the scheduler decides when.
    if (!this.#scheduler && this.#phase[vp] === 'halted') {
      this.#endHalt(vp);
      this.#release(vp);
    }
  }

  #endHalt(vp: number): void {
    const ts = this.#haltedAt[vp]!;
    const vectors = this.#vm.partition.interrupts.peek(vp);
    this.#event({ kind: 'halt', vp, ts, dur: this.#now() - ts, vectors });
    this.#pending[vp] = Completion.OK;
  }

  /** Handles the exit `vp` posted; leaves its completion in `#pending` and its phase set. */
  #handleExit(vp: number): void {
    const mb = this.#mb;
    const kind = mb.kind(vp);
    this.#currentVp = vp;
    this.#pending[vp] = Completion.OK;
    this.#setPhase(vp, 'stopped');
    if (this.#measuresSteal) this.#accountMeasuredWait(vp);
    if (this.#terminating) {
      this.#pending[vp] = Completion.TERMINATE;
      this.#setPhase(vp, 'finished');
      return;
    }
    if (kind === ExitKind.HYPERCALL) {
      // Seeded runs come here; parallel ones take `#hypercallExit`, unless stolen time is
      // accounted (arm64, where VMCALL never exits). Such an exit is timed as it is handled,
      // and counted so that the vCPU's stamps of later exits still pair up.
      if (!this.#scheduler) this.#hypercallExits[vp]!++;
      this.#hypercall(vp, this.#now());
      return;
    }
    // Other exits carry their time from before they were posted.
    const ts = this.#exitTime(vp);
    switch (kind) {
      case ExitKind.START:
      case ExitKind.YIELD:
        return;
      case ExitKind.RDMSR:
      case ExitKind.WRMSR:
      case ExitKind.CPUID:
        this.#msrOrCpuid(vp, kind, ts);
        return;
      case ExitKind.SMCCC:
        this.#smccc(vp, ts);
        return;
      case ExitKind.INVLPG:
        this.#vm.partition.invlpg(vp, mb.reg(vp, 0));
        return;
      case ExitKind.FLUSH_TLB:
        this.#vm.partition.flushLocalTlb(vp, mb.reg(vp, 0) === 1n);
        return;
      case ExitKind.HALT:
        if (this.#vm.partition.interrupts.pending(vp)) {
          this.#event({
            kind: 'halt',
            vp,
            ts,
            dur: 0,
            vectors: this.#vm.partition.interrupts.peek(vp),
          });
          return;
        }
        this.#setPhase(vp, 'halted');
        this.#haltedAt[vp] = ts;
        return;
      case ExitKind.LOG: {
        const line = mb.readMessage(vp);
        this.#log.push({ vp, line });
        this.#event({ kind: 'log', vp, ts, message: line });
        this.#options.onLog?.(vp, line);
        return;
      }
      case ExitKind.REPORT: {
        const text = mb.readMessage(vp);
        const [key, value] = JSON.parse(text) as [string, unknown];
        this.#reports[vp]![key] = value;
        this.#event({ kind: 'report', vp, ts, message: text });
        return;
      }
      case ExitKind.DONE:
        this.#setPhase(vp, 'finished');
        this.#event({ kind: 'done', vp, ts, message: 'passed' });
        return;
      case ExitKind.FAIL: {
        const { message, stack } = parseFailureText(mb.readMessage(vp));
        this.#setPhase(vp, 'finished');
        this.#event({ kind: 'fail', vp, ts, message });
        const why = Number(mb.reg(vp, 0));
        this.#fail(
          vp,
          message,
          why === FailKind.LOAD ? 'load' : why === FailKind.THROW ? 'throw' : 'program',
          stack,
        );
        // One failing vCPU fails the run: the others are told to unwind.
        this.#terminate();
        return;
      }
      default:
        throw new ThreadedHostError(`vCPU ${vp} posted unknown exit kind ${kind}`);
    }
  }

  /**
   * Parallel runs: the time between the host releasing `vp` and its thread running again was
   * time it was runnable but not running — the OS had not scheduled it (stolen time, real clock).
   */
  #accountMeasuredWait(vp: number): void {
    const released = this.#releasedAt[vp]!;
    const resumed = this.#mb.resumedAt(vp);
    if (released > 0 && resumed > released)
      this.#internals.accountSteal(vp, BigInt(Math.round((resumed - released) * 1e6)));
    this.#releasedAt[vp] = 0;
  }

  #smccc(vp: number, ts: number): void {
    const mb = this.#mb;
    const functionId = Number(mb.reg(vp, 0) & 0xffff_ffffn);
    const args: bigint[] = [];
    for (let i = 1; i <= SMCCC_ARG_REGS; i++) args.push(mb.reg(vp, i));
    let results: bigint[] = [];
    let status: string;
    try {
      results = [...this.#internals.smcccCall(vp, functionId, args)];
      for (const [i, v] of results.entries()) mb.setReg(vp, i, v);
      status = smcccReturnCodeName(results[0]!) ?? 'value';
    } catch (e) {
      status = this.#fault(vp, e);
    }
    // Trailing zero arguments are the registers the guest left unused: keep the trace readable.
    while (args.length > 0 && args[args.length - 1] === 0n) args.pop();
    const dur = this.#scheduler ? VIRTUAL_EXIT_US : Math.max(0, this.#now() - ts);
    this.#event({
      kind: 'smccc',
      vp,
      ts,
      dur,
      name: smcccFunctionName(functionId),
      functionId,
      args: args.map(hex),
      results: results.map(hex),
      status,
    });
  }

  #fault(vp: number, e: unknown): string {
    if (!isGuestFault(e)) throw e;
    this.#pending[vp] = FAULT_COMPLETION[(e as GuestFault).vector];
    this.#mb.writeMessage(vp, e.message);
    return `#${e.vector}`;
  }

  /** Handles a hypercall exit that started at `ts` (µs) and times it now. */
  #hypercall(vp: number, ts: number): void {
    const mb = this.#mb;
    const io = this.#io[vp]!;
    // Read before the call: the result overwrites register 0 (RCX in, RAX out).
    const ctlLo = mb.regWord(vp, 0, 0);
    const ctlHi = mb.regWord(vp, 0, 1);
    let outcome = 0;
    let error: unknown;
    try {
      const result = this.#vm.partition.hypercall(vp, io);
      mb.setReg(vp, 0, result);
      this.#setOutputSlots(vp, io.fastOutputFirstSlot, io.fastOutputSlots);
    } catch (e) {
      outcome = this.#hypercallError(vp, e);
      error = e;
    }
    this.#hypercalls++;
    // Decoded into a HypercallEvent only when the run ends: decoding and naming on every exit
    // would lengthen the round trip the guest waits for.
    const resLo = outcome === 0 ? mb.regWord(vp, 0, 0) : 0;
    const resHi = outcome === 0 ? mb.regWord(vp, 0, 1) : 0;
    const dur = this.#scheduler ? VIRTUAL_EXIT_US : Math.max(0, this.#now() - ts);
    const exit = this.#raw.push(vp, ts, dur, ctlLo, ctlHi, resLo, resHi, outcome);
    this.#details?.keep(exit, error);
  }

  /**
   * Times `vp`'s hypercall exit that just completed (its completion time) and the one before it
   * (its start: the vCPU stamped it after posting, and has certainly done so since it has posted
   * a later exit). Runs after the vCPU was released, while it runs.
   */
  #timeHypercalls(vp: number): void {
    const done = this.#awaitingDone[vp]!;
    const previous = this.#awaitingStamp[vp]!;
    if (previous >= 0 && previous !== done) {
      this.#stampEntry(vp, previous, this.#awaitingStampSeq[vp]!);
      this.#awaitingStamp[vp] = -1;
    }
    if (done < 0) return;
    this.#raw.setDone(done, this.#now());
    this.#awaitingDone[vp] = -1;
    this.#awaitingStamp[vp] = done;
    this.#awaitingStampSeq[vp] = this.#hypercallExits[vp]!;
  }

  #stampEntry(vp: number, entry: number, seq: number): void {
    const t = this.#mb.hypercallStamp(vp, seq);
    this.#raw.setStart(entry, t * 1000);
  }

  /**
   * A hypercall exit of a running vCPU in a parallel run, the hot path: dispatch, complete, and
   * only then log and time it — the vCPU runs meanwhile. A call that faults or suspends its caller
   * leaves through the generic path (`#hypercallFailed`).
   */
  #hypercallExit(vp: number): void {
    const mb = this.#mb;
    const io = this.#io[vp]!;
    this.#hypercallExits[vp]!++;
    this.#currentVp = vp;
    const ctlLo = io.controlLo();
    const ctlHi = io.controlHi();
    let result: bigint;
    try {
      result = this.#vm.partition.hypercall(vp, io);
    } catch (e) {
      this.#hypercallFailed(vp, e, ctlLo, ctlHi);
      return;
    }
    mb.setReg(vp, 0, result);
    // Read RAX back before completing: once it runs, the vCPU writes its next call there.
    const resLo = mb.regWord(vp, 0, 0);
    const resHi = mb.regWord(vp, 0, 1);
    this.#setOutputSlots(vp, io.fastOutputFirstSlot, io.fastOutputSlots);
    mb.complete(vp, Completion.OK);
    this.#hypercalls++;
    this.#awaitingDone[vp] = this.#raw.push(vp, Number.NaN, Number.NaN, ctlLo, ctlHi, resLo, resHi, 0);
    this.#details?.keep(this.#awaitingDone[vp]!);
    this.#timeHypercalls(vp);
  }

  /** `#hypercallExit`'s call faulted or suspended its caller: what `#handleExit` would have done. */
  #hypercallFailed(vp: number, e: unknown, ctlLo: number, ctlHi: number): void {
    this.#setPhase(vp, 'stopped');
    this.#pending[vp] = Completion.OK;
    const outcome = this.#hypercallError(vp, e);
    this.#hypercalls++;
    this.#awaitingDone[vp] = this.#raw.push(vp, Number.NaN, Number.NaN, ctlLo, ctlHi, 0, 0, outcome);
    this.#details?.keep(this.#awaitingDone[vp]!, e);
    if (this.#phaseOf(vp) === 'stopped') this.#release(vp);
    this.#timeHypercalls(vp);
  }

  /** A hypercall that threw: parked (suspended) or a fault for the guest. Returns its log outcome. */
  #hypercallError(vp: number, e: unknown): number {
    if (isHypercallSuspended(e)) {
      // Parked: no completion until resumeWaiters releases it (its mailbox keeps the registers).
      this.#setPhase(vp, 'suspended');
      return OUTCOME_CODE.SUSPENDED!;
    }
    const outcome = OUTCOME_CODE[this.#fault(vp, e)]!;
    this.#setOutputSlots(vp, 0, 0);
    return outcome;
  }

  /**
   * The fast-output slots of the hypercall just handled, written to the mailbox only when they
   * differ from the last ones written (the vCPU reads them after every hypercall exit).
   */
  #setOutputSlots(vp: number, first: number, count: number): void {
    if (this.#outFirst[vp] === first && this.#outCount[vp] === count) return;
    this.#outFirst[vp] = first;
    this.#outCount[vp] = count;
    this.#mb.setOutputSlots(vp, first, count);
  }

  /** Re-executes the hypercall a resumed vCPU was suspended in (RIP was not advanced). */
  #reexecute(vp: number): void {
    this.#setPhase(vp, 'stopped');
    this.#pending[vp] = Completion.OK;
    this.#hypercall(vp, this.#now());
  }

  /** The events with every raw hypercall decoded. */
  #decodedEvents(): RunEvent[] {
    const out: RunEvent[] = [];
    let next = 0;
    for (const [i, event] of this.#events.entries()) {
      for (const mark = this.#rawMarks[i]!; next < mark; next++) out.push(this.#decodedHypercall(next));
      out.push(event);
    }
    for (; next < this.#raw.length; next++) out.push(this.#decodedHypercall(next));
    return out;
  }

  /** Hypercall exit `i` of the raw log as an event. */
  #decodedHypercall(i: number): RunEvent {
    const e = this.#raw.entry(i);
    const control = decodeHypercallControl(e.control);
    const result = typeof e.outcome === 'bigint' ? decodeHypercallResult(e.outcome) : undefined;
    const detail = this.#details?.get(i);
    return {
      kind: 'hypercall',
      vp: e.vp,
      ts: e.ts,
      dur: e.dur,
      name: this.#vm.partition.dispatcher.descriptor(control.callCode)?.name ?? hvCallName(control.callCode),
      callCode: control.callCode,
      control: hex(e.control),
      fast: control.fast,
      variableHeaderSize: control.variableHeaderSize,
      repCount: control.repCount,
      repStartIndex: control.repStartIndex,
      status: result ? hvStatusName(result.status) : (e.outcome as string),
      repsCompleted: result ? result.repsCompleted : 0,
      ...(detail ? { detail } : {}),
    };
  }

  #event(event: RunEvent): void {
    this.#events.push(event);
    this.#rawMarks.push(this.#raw.length);
  }

  #msrOrCpuid(vp: number, kind: number, ts: number): void {
    const mb = this.#mb;
    const p = this.#vm.partition;
    const index = mb.reg(vp, 0);
    let value = '';
    let fault: string | undefined;
    try {
      if (kind === ExitKind.CPUID) {
        const r = p.cpuid(Number(index & 0xffff_ffffn));
        for (const [i, v] of [r.eax, r.ebx, r.ecx, r.edx].entries()) mb.setReg(vp, i, BigInt(v));
        value = `${hex(r.eax)}:${hex(r.ebx)}:${hex(r.ecx)}:${hex(r.edx)}`;
      } else if (kind === ExitKind.RDMSR) {
        const v = p.readMsr(vp, index);
        mb.setReg(vp, 0, v);
        value = hex(v);
      } else {
        const v = mb.reg(vp, 1);
        value = hex(v);
        p.writeMsr(vp, index, v);
      }
    } catch (e) {
      fault = this.#fault(vp, e);
    }
    const dur = this.#scheduler ? VIRTUAL_EXIT_US : Math.max(0, this.#now() - ts);
    const name = kind === ExitKind.CPUID ? 'cpuid' : kind === ExitKind.RDMSR ? 'rdmsr' : 'wrmsr';
    this.#event({ kind: name, vp, ts, dur, index: hex(index), value, ...(fault ? { fault } : {}) });
  }
}
