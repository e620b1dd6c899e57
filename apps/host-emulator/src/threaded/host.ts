import { availableParallelism } from 'node:os';
import type { GuestFaultValue } from '@pvlab/hypercall';
import { ISOLATION_STATE } from '@pvlab/isolation/host';
import type { RunEvent } from '../trace/events.js';
import type { Vm } from '../vm.js';
import { type VmInternals, vmInternals } from '../vm-internals.js';
import { CallDetails } from './call-details.js';
import { ExitLog } from './exit-log.js';
import { isolationTraceEvent } from './isolation-events.js';
import { Mailboxes, spinLimitFor } from './mailbox.js';
import { Completion } from './mailbox-wire.js';
import type { RunFailure, RunGuestOptions } from './run-api.js';
import { SeededScheduler, VIRTUAL_EXIT_US } from './scheduler.js';
import { StolenTime } from './stolen-time.js';

/**
 * Where a vCPU is, as the host sees it. `stopped`: its exit is handled, its completion waits in
 * `pending`; `suspended`: parked in a hypercall a handler suspended (a TLB flush waiting on a
 * locked VP); `resumed`: released by `resumeWaiters`, its hypercall to be re-executed when it next
 * runs.
 */
export type VpPhase = 'loading' | 'running' | 'stopped' | 'halted' | 'suspended' | 'resumed' | 'finished';

/**
 * One run's state on the host thread, shared by the exit handlers and the schedulers: each vCPU's
 * phase and pending completion, the mailboxes, the clock, the log and the failures. A vCPU is
 * completed (`release`) or told to unwind (`terminate`) only here.
 */
export class ThreadedHost {
  readonly vm: Vm;
  readonly internals: VmInternals;
  readonly options: RunGuestOptions;
  readonly vcpus: number;
  readonly mb: Mailboxes;
  /** Seeded runs: the scheduler and its virtual clock. */
  readonly scheduler: SeededScheduler | undefined;
  readonly phase: VpPhase[];
  /** 1 for the vCPUs whose next exit the host waits for (see `setPhase`). */
  readonly watch: Uint8Array;
  /** The completion each stopped vCPU will get when it is released. */
  readonly pending: number[];
  /** When each halted vCPU halted (µs). */
  readonly haltedAt: number[];
  readonly log: ExitLog;
  readonly stolenTime: StolenTime;
  readonly lines: { vp: number; line: string }[] = [];
  readonly reports: Record<string, unknown>[];
  readonly failures = new Map<string, RunFailure & { vps: number[] }>();
  /** More busy threads than cores: a vCPU may lose its core between posting an exit and stamping it. */
  readonly oversubscribed: boolean;
  /**
   * The run's clock: ms since it started, from `performance.now()`. Epoch milliseconds would do
   * across threads, but a float64 near 1.7e12 resolves only 0.24 µs; the vCPU threads get the
   * start as an epoch time once and count from it (`VcpuWorkerData.runStartEpochMs`).
   */
  readonly startNow = performance.now();
  readonly startEpochMs = performance.timeOrigin + this.startNow;
  hypercalls = 0;
  terminating = false;
  /** The vCPU whose exit is being handled (host-side events name it). */
  currentVp = 0;

  constructor(vm: Vm, options: RunGuestOptions) {
    this.vm = vm;
    this.internals = vmInternals(vm);
    this.options = options;
    const n = vm.vcpus;
    this.vcpus = n;
    // The host thread plus one per vCPU; a seeded run has only two busy at any moment.
    const busyThreads = options.seed === undefined ? n + 1 : 2;
    this.mb = Mailboxes.create(n, spinLimitFor(busyThreads, availableParallelism()));
    this.oversubscribed = busyThreads > availableParallelism();
    const dispatcher = vm.partition.dispatcher;
    this.log = new ExitLog(
      this.mb,
      dispatcher.recordsDetails ? new CallDetails(dispatcher) : undefined,
      this,
    );
    this.phase = new Array<VpPhase>(n).fill('loading');
    this.watch = new Uint8Array(n).fill(1);
    this.pending = new Array<number>(n).fill(Completion.OK);
    this.haltedAt = new Array<number>(n).fill(0);
    this.reports = Array.from({ length: n }, () => ({}));
    this.scheduler =
      options.seed === undefined ? undefined : new SeededScheduler(options.seed, options.schedule);
    this.stolenTime = new StolenTime(
      this.internals,
      this.mb,
      this.internals.accountsStolenTime(),
      this.scheduler !== undefined,
      () => this.clockMs(),
    );
    vm.partition.onInterrupt((vp, vector) => this.#onInterrupt(vp, vector));
    // Called from inside another VP's exit (the one that cleared the lock): only mark it here;
    // the loops re-execute the parked hypercall, never re-entering the dispatcher.
    vm.partition.onResume((vp) => {
      if (this.phase[vp] === 'suspended') this.setPhase(vp, 'resumed');
    });
    // Isolation VMs: what the host was refused, and visibility changes, go in the trace.
    vm.partition
      .extensionState(ISOLATION_STATE)
      ?.onEvent((e) => this.event(isolationTraceEvent(e, this.currentVp, this.now())));
    this.internals.onStolenTimeUpdate((u) => {
      if (u.stolenTime !== u.previous) {
        this.event({ kind: 'steal', vp: u.vcpu, ts: this.now(), stolenNs: u.stolenTime.toString() });
      }
    });
  }

  /** µs since the start of the run: the virtual clock when seeded. */
  now(): number {
    return this.scheduler ? this.scheduler.now : this.clockMs() * 1000;
  }

  /** When `vp` posted its current exit (µs). */
  exitTime(vp: number): number {
    return this.scheduler ? this.scheduler.now : this.mb.time(vp) * 1000;
  }

  /** ms since the run started (both threads' stamps count from the same start). */
  clockMs(): number {
    return performance.now() - this.startNow;
  }

  /** How long an exit that started at `ts` took (µs): `VIRTUAL_EXIT_US` when seeded. */
  exitDuration(ts: number): number {
    return this.scheduler ? VIRTUAL_EXIT_US : Math.max(0, this.now() - ts);
  }

  event(event: RunEvent): void {
    this.log.event(event);
  }

  /**
   * Sets a vCPU's phase and whether the host waits for its next exit: only a loading or running
   * vCPU's exit is handled; a halted or suspended one sits in its exit until the host acts.
   */
  setPhase(vp: number, phase: VpPhase): void {
    this.phase[vp] = phase;
    this.watch[vp] = phase === 'loading' || phase === 'running' ? 1 : 0;
  }

  // A method call, so that TypeScript does not narrow a phase that an exit handler may change.
  phaseOf(vp: number): VpPhase {
    return this.phase[vp]!;
  }

  finished(): boolean {
    return this.phase.every((p) => p === 'finished');
  }

  /** Writes `fault` as `vp`'s exit's fault record, which the vCPU raises as its `GuestFault`. */
  faultRecord(vp: number, fault: GuestFaultValue): void {
    this.mb.writeFault(vp, fault);
  }

  /** Completes `vp`'s exit with what was decided for it and lets it run. */
  release(vp: number): void {
    if (this.phase[vp] !== 'finished') {
      this.setPhase(vp, 'running');
      this.stolenTime.releasing(vp);
    }
    this.mb.complete(vp, this.terminating ? Completion.TERMINATE : this.pending[vp]!);
  }

  /** Ends the run: every vCPU stopped at an exit (or halted) is told to unwind. */
  terminate(): void {
    this.terminating = true;
    for (let vp = 0; vp < this.vcpus; vp++) {
      const phase = this.phase[vp];
      if (
        phase === 'halted' ||
        phase === 'suspended' ||
        phase === 'resumed' ||
        phase === 'stopped' ||
        ((phase === 'loading' || phase === 'running') && this.mb.hasExit(vp))
      ) {
        this.setPhase(vp, 'finished');
        this.mb.complete(vp, Completion.TERMINATE);
      }
    }
  }

  fail(vp: number, message: string, kind: RunFailure['kind'] = 'run', stack: readonly string[] = []): void {
    // Failures with the same reason are one, on every vCPU that had it (the first vCPU's frames are kept).
    let failure = this.failures.get(message);
    if (!failure) {
      failure = { kind, message, vps: [], ...(stack.length > 0 ? { stack } : {}) };
      this.failures.set(message, failure);
    }
    if (vp >= 0) failure.vps.push(vp);
  }

  /** A halted vCPU runs again: its halt becomes a slice naming the vectors that woke it. */
  endHalt(vp: number): void {
    const ts = this.haltedAt[vp]!;
    const vectors = this.vm.partition.interrupts.peek(vp);
    this.event({ kind: 'halt', vp, ts, dur: this.now() - ts, vectors });
    this.pending[vp] = Completion.OK;
  }

  #onInterrupt(vp: number, vector: number): void {
    this.event({ kind: 'interrupt', vp, ts: this.now(), vector });
    // Without a seed a halted vCPU wakes at once; with one, the scheduler decides when.
    if (!this.scheduler && this.phase[vp] === 'halted') {
      this.endHalt(vp);
      this.release(vp);
    }
  }
}
