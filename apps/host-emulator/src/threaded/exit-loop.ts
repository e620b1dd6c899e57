import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { HvCallCode } from '@pvlab/hypercall';
import { handleExit } from './exits.js';
import type { ThreadedHost } from './host.js';
import { type HypercallExitPath, STAMPED } from './hypercall-exit.js';
import type { Mailboxes } from './mailbox.js';
import { ExitKind } from './mailbox-wire.js';
import { ThreadedHostError } from './run-api.js';
import { type SeededScheduler, VIRTUAL_EXIT_US, VIRTUAL_SEGMENT_US } from './scheduler.js';

/** PAUSE, or HvCallNotifyLongSpinWait (spec 08 rule 7): the vCPU says it is waiting on another. */
function isYieldHint(mb: Mailboxes, vp: number): boolean {
  const kind = mb.kind(vp);
  return (
    kind === ExitKind.YIELD ||
    (kind === ExitKind.HYPERCALL && (mb.regWord(vp, 0, 0) & 0xffff) === HvCallCode.HvCallNotifyLongSpinWait)
  );
}

/** Longest the loop runs before it lets the event loop through (progress, timers, worker events, aborts). */
const MAX_SLICE_MS = 10;

/**
 * The host's exit loop: waits for the vCPUs' exits and handles them, in one of two schedules.
 * Without a seed every vCPU runs at once and each exit is completed as soon as it is handled;
 * with one, one vCPU at a time runs until its next exit, in an order drawn from the seed.
 */
export class ExitLoop {
  readonly #host: ThreadedHost;
  readonly #hypercalls: HypercallExitPath;
  /** Stops every vCPU thread (a guest spinning without exits never reads its mailbox again). */
  readonly #stopThreads: () => void;
  #lastYield = performance.now();

  constructor(host: ThreadedHost, hypercalls: HypercallExitPath, stopThreads: () => void) {
    this.#host = host;
    this.#hypercalls = hypercalls;
    this.#stopThreads = stopThreads;
  }

  run(): Promise<void> {
    const scheduler = this.#host.scheduler;
    return scheduler ? this.#runSeeded(scheduler) : this.#runParallel();
  }

  /** Every vCPU runs; an exit is completed as soon as it is handled. */
  async #runParallel(): Promise<void> {
    const host = this.#host;
    const mb = host.mb;
    const n = host.vcpus;
    const log = host.log;
    const hypercalls = this.#hypercalls;
    // Without stolen-time accounting (x64) nothing of the generic exit bookkeeping applies to a
    // running vCPU's hypercall exit: it takes the short path.
    const shortHypercalls = !host.stolenTime.accounts;
    let rounds = 0;
    while (!host.finished()) {
      let handled = false;
      for (let vp = 0; vp < n; vp++) {
        const phase = host.phase[vp];
        if (phase === 'resumed') {
          hypercalls.reexecute(vp);
          handled = true;
          if (host.phaseOf(vp) === 'stopped') host.release(vp);
          continue;
        }
        if (phase === 'finished' || phase === 'halted' || phase === 'suspended' || !mb.hasExit(vp)) continue;
        handled = true;
        if (
          phase === 'running' &&
          shortHypercalls &&
          !host.terminating &&
          mb.kind(vp) === ExitKind.HYPERCALL
        ) {
          // The hot path: dispatch and complete; the vCPU runs while the exit is logged and timed.
          host.currentVp = vp;
          log.countExit(vp);
          hypercalls.exit(vp, STAMPED, true);
        } else {
          handleExit(host, hypercalls, vp);
          const after = host.phaseOf(vp);
          if (after === 'stopped' || after === 'finished') host.release(vp);
        }
        // The vCPU runs again: now the clock can be read without delaying it.
        log.timeHypercalls(vp);
      }
      // The clock is read every 64 rounds and after every wait that slept: a clock read per exit
      // would lengthen every round trip.
      let slept = false;
      if (!handled) {
        this.#checkDeadlock();
        slept = !mb.waitForExit(host.watch, MAX_SLICE_MS);
      }
      if ((slept || (++rounds & 63) === 0) && this.#sliceDue()) await this.#yield();
    }
  }

  /** One vCPU at a time runs to its next exit, picked by the seed; time is the virtual clock. */
  async #runSeeded(scheduler: SeededScheduler): Promise<void> {
    const host = this.#host;
    const mb = host.mb;
    const n = host.vcpus;
    // Every vCPU first stops at START (or FAIL if its guest would not load): a deterministic start.
    while (host.phase.some((p) => p === 'loading')) {
      for (let vp = 0; vp < n; vp++)
        if (host.phase[vp] === 'loading' && mb.hasExit(vp)) handleExit(host, this.#hypercalls, vp);
      if (host.phase.some((p) => p === 'loading')) mb.waitForExit(host.watch, MAX_SLICE_MS);
      if (this.#sliceDue()) await this.#yield();
    }
    const maxExits = host.options.maxExits ?? Number.POSITIVE_INFINITY;
    let exits = 0;
    // Who ran the last segment, and whether its exit was a yield hint (PCT lowers it).
    let previous: number | undefined;
    let yielded = false;
    for (;;) {
      const runnable: number[] = [];
      for (let vp = 0; vp < n; vp++) {
        const phase = host.phase[vp];
        if (
          phase === 'stopped' ||
          phase === 'resumed' ||
          (phase === 'halted' && host.vm.partition.interrupts.pending(vp))
        )
          runnable.push(vp);
      }
      if (runnable.length === 0) {
        if (host.finished()) return;
        if (!this.#checkDeadlock()) {
          throw new ThreadedHostError(`seeded scheduler stuck with phases ${host.phase.join(', ')}`);
        }
        continue;
      }
      const vp = scheduler.pick(runnable, previous, yielded);
      previous = vp;
      yielded = false;
      // The others could run but wait while `vp` runs its segment and exit: virtual stolen time.
      host.stolenTime.waiting(runnable, vp);
      if (host.phase[vp] === 'halted') host.endHalt(vp);
      if (host.phase[vp] === 'resumed') {
        // Its run starts by re-executing the hypercall it was suspended in.
        scheduler.now += VIRTUAL_SEGMENT_US;
        this.#hypercalls.reexecute(vp);
        scheduler.now += VIRTUAL_EXIT_US;
        if (host.phaseOf(vp) !== 'stopped') continue;
      }
      host.release(vp);
      // Only `vp` runs now; wait for its next exit.
      while (!mb.hasExit(vp) && host.phase[vp] !== 'finished') {
        mb.waitForExit(host.watch, MAX_SLICE_MS);
        if (this.#sliceDue()) await this.#yield();
      }
      if (host.phaseOf(vp) === 'finished') continue;
      scheduler.now += VIRTUAL_SEGMENT_US;
      yielded = isYieldHint(mb, vp);
      handleExit(host, this.#hypercalls, vp);
      scheduler.now += VIRTUAL_EXIT_US;
      if (++exits === maxExits && !host.terminating) {
        host.fail(-1, `limit: the run made ${maxExits} exits without ending`);
        host.terminate();
      }
      // A vCPU that finished is let go at once; its end does not change what others see.
      if (host.phaseOf(vp) === 'finished') host.release(vp);
      if (this.#sliceDue()) await this.#yield();
    }
  }

  /**
   * Fails the run when no vCPU can ever run again: every unfinished one is halted with nothing
   * pending (only the host or another vCPU could send it an interrupt) or suspended. Returns
   * whether it did.
   */
  #checkDeadlock(): boolean {
    const host = this.#host;
    const halted: number[] = [];
    const suspended: number[] = [];
    for (let vp = 0; vp < host.vcpus; vp++) {
      const phase = host.phase[vp];
      if (phase === 'finished') continue;
      if (phase === 'suspended') suspended.push(vp);
      else if (phase !== 'halted' || host.vm.partition.interrupts.pending(vp)) return false;
      else halted.push(vp);
    }
    if (halted.length === 0 && suspended.length === 0) return false;
    const parts: string[] = [];
    if (halted.length > 0) parts.push(`vCPU ${halted.join(', ')} halted with no interrupt pending`);
    for (const s of host.vm.partition.suspendedVps()) parts.push(`vCPU ${s.vp} suspended (${s.reason})`);
    host.fail(-1, `deadlock: ${parts.join('; ')}, and no vCPU left to wake them`);
    host.terminate();
    return true;
  }

  // Callers check that the slice is due first: an await that is not due would cost a microtask per exit.
  #sliceDue(): boolean {
    return performance.now() - this.#lastYield >= MAX_SLICE_MS;
  }

  async #yield(): Promise<void> {
    const host = this.#host;
    const t = performance.now();
    this.#lastYield = t;
    host.options.onProgress?.({
      hypercalls: host.hypercalls,
      running: host.phase.filter((p) => p !== 'finished').length,
      vcpus: host.vcpus,
      elapsedMs: t - host.startNow,
    });
    this.#checkTimeout();
    // Let worker 'error'/'exit' events, timers and signal handlers through.
    await yieldToEventLoop();
    host.options.signal?.throwIfAborted();
  }

  #checkTimeout(): void {
    const host = this.#host;
    const limit = host.options.timeoutMs;
    if (limit !== undefined && !host.terminating && host.clockMs() > limit) {
      host.fail(-1, `the run took longer than ${limit} ms`);
      host.terminate();
      this.#stopThreads();
    }
  }
}
