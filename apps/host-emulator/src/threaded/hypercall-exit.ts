import type { GuestFaultValue } from '@pvlab/hypercall';
import type { HypercallSuspension } from '@pvlab/hypercall/host';
import type { Vm } from '../vm.js';
import type { ExitLog } from './exit-log.js';
import type { ThreadedHost } from './host.js';
import { Outcome } from './hypercall-columns.js';
import type { Mailboxes } from './mailbox.js';
import { MailboxHypercallIo } from './mailbox-io.js';
import { Completion } from './mailbox-wire.js';

/** `HypercallExitPath.exit`'s start time for an exit the vCPU's own stamp will time (parallel runs). */
export const STAMPED = Number.NaN;

const FAULT_OUTCOME = { UD: Outcome.UD, GP: Outcome.GP, MEMORY: Outcome.MEMORY } as const;
// The codes the hot path compares and stores, as this module's own constants (a load of an
// imported binding per use is measurable on a round trip of ~200 ns).
const RESULT = Outcome.RESULT;
const SUSPENDED = Outcome.SUSPENDED;
const OK = Completion.OK;
const FAULT = Completion.FAULT;

/**
 * The one path of a hypercall exit, whoever takes it — the parallel loop's fast path, the generic
 * exit handler, the re-execution of a resumed call: dispatch the call on the vCPU's mailbox
 * registers in place, settle the exit with what dispatch did, complete it (or leave the
 * completion to the scheduler), and only then log it.
 */
export class HypercallExitPath {
  readonly #host: ThreadedHost;
  readonly #vm: Vm;
  readonly #mb: Mailboxes;
  readonly #log: ExitLog;
  /** Each vCPU's mailbox registers as the dispatcher's HypercallIo (no copies). */
  readonly #io: MailboxHypercallIo[];
  /** The fast-output slots last written to each vCPU's mailbox (`#setOutputSlots`). */
  readonly #outFirst: Int32Array;
  readonly #outCount: Int32Array;
  /** What the last call that did not produce a result came to (its fault or suspension). */
  #ended: GuestFaultValue | HypercallSuspension | undefined;

  constructor(host: ThreadedHost) {
    this.#host = host;
    this.#vm = host.vm;
    this.#mb = host.mb;
    this.#log = host.log;
    this.#io = Array.from({ length: host.vcpus }, (_, vp) => new MailboxHypercallIo(host.mb, vp));
    this.#outFirst = new Int32Array(host.vcpus);
    this.#outCount = new Int32Array(host.vcpus);
  }

  /**
   * Handles `vp`'s hypercall exit. `ts`: when it started (µs), or `STAMPED`. `completeNow`: the
   * vCPU runs again at once (a parallel run's running vCPU); otherwise its completion waits in
   * `host.pending` for the scheduler to release it. Returns the exit's log entry.
   */
  exit(vp: number, ts: number, completeNow: boolean): number {
    const mb = this.#mb;
    const host = this.#host;
    const io = this.#io[vp]!;
    // Read before the call: the result overwrites register 0 (RCX in, RAX out).
    const ctlLo = io.controlLo();
    const ctlHi = io.controlHi();
    const outcome = this.#dispatch(vp, io);
    let resLo = 0;
    let resHi = 0;
    if (outcome === RESULT) {
      // Read RAX back before completing: once it runs, the vCPU writes its next call there.
      resLo = mb.regWord(vp, 0, 0);
      resHi = mb.regWord(vp, 0, 1);
    } else if (outcome === SUSPENDED) {
      resLo = (this.#ended as HypercallSuspension).waitingOn;
    }
    if (outcome !== SUSPENDED) {
      const completion = outcome === RESULT ? OK : FAULT;
      if (completeNow) mb.complete(vp, completion);
      else host.pending[vp] = completion;
    }
    // The vCPU may run now: what is left only records the exit.
    host.hypercalls++;
    const log = this.#log;
    const stamped = Number.isNaN(ts);
    const entry = log.hypercalls.push(
      vp,
      ts,
      stamped ? ts : host.exitDuration(ts),
      ctlLo,
      ctlHi,
      resLo,
      resHi,
      outcome,
    );
    if (stamped) log.awaitTimes(vp, entry);
    log.details?.keep(entry, outcome === RESULT ? undefined : this.#ended);
    return entry;
  }

  /** Re-executes the hypercall a resumed vCPU was suspended in (RIP was not advanced). */
  reexecute(vp: number): void {
    this.#host.setPhase(vp, 'stopped');
    this.#host.pending[vp] = OK;
    this.exit(vp, this.#host.now(), false);
  }

  /**
   * Calls the dispatcher on `vp`'s registers and settles the exit with one of its three outcomes:
   * a result (RAX and the fast output slots written), a guest fault (its record written for the
   * vCPU), or a suspension (the vCPU parked until `resumeWaiters` marks it resumed).
   */
  #dispatch(vp: number, io: MailboxHypercallIo): number {
    const outcome = this.#vm.partition.dispatchHypercall(vp, io);
    if (typeof outcome === 'bigint') {
      this.#mb.setReg(vp, 0, outcome);
      this.#setOutputSlots(vp, io.fastOutputFirstSlot, io.fastOutputSlots);
      return RESULT;
    }
    this.#ended = outcome;
    if (outcome.kind === 'suspended') {
      // Parked: no completion until it is resumed (its mailbox keeps the registers).
      this.#host.setPhase(vp, 'suspended');
      return SUSPENDED;
    }
    this.#host.faultRecord(vp, outcome);
    this.#setOutputSlots(vp, 0, 0);
    return FAULT_OUTCOME[outcome.vector];
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
}
