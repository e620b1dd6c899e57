import { type HypercallDispatcher, hypercallRecordStatus } from '@pvlab/hypercall/host';
import type { HypercallEvent, RunEvent } from '../trace/events.js';
import type { CallDetails } from './call-details.js';
import { HypercallColumns } from './hypercall-columns.js';
import type { Mailboxes } from './mailbox.js';

const hex = (v: bigint) => `0x${v.toString(16)}`;

/**
 * A run's log: every event in the order the host saw it. Hypercall exits stay raw words in
 * `HypercallColumns` until the run ends (decoding and naming on every exit would lengthen the
 * round trip the guest waits for); the other events are kept as they come, each with how many
 * hypercall exits came before it, so that `decodedEvents` puts the two back in order.
 *
 * Parallel runs time a hypercall exit off the round trip: its completion time as the host next
 * looks (the vCPU runs meanwhile), its start from the vCPU's stamp (`Mailboxes.hypercallStamp`),
 * read once the vCPU has posted a later exit and so has certainly written it.
 */
export class ExitLog {
  readonly #events: RunEvent[] = [];
  /** `#marks[i]`: how many hypercall exits came before event `i`. */
  readonly #marks: number[] = [];
  /** Every hypercall exit, as raw words: `push` one, with its times or NaN and then `awaitTimes`. */
  readonly hypercalls = new HypercallColumns();
  /** Each exit's decoded call, when the dispatcher records details (`--trace`, `--json`). */
  readonly details: CallDetails | undefined;
  readonly #mb: Mailboxes;
  /** The run's clock (µs): read only when an exit is there to time. */
  readonly #clock: { now(): number };
  /**
   * Per vCPU: its hypercall exits so far (the vCPU counts the same), the log entry of the last one
   * that still waits for its completion time, and the entry (and its exit number) that waits for
   * the vCPU's stamp.
   */
  readonly #exits: Uint32Array;
  readonly #awaitingDone: Int32Array;
  readonly #awaitingStamp: Int32Array;
  readonly #awaitingStampSeq: Uint32Array;

  constructor(mb: Mailboxes, details: CallDetails | undefined, clock: { now(): number }) {
    this.#mb = mb;
    this.#clock = clock;
    this.details = details;
    const n = mb.vcpus;
    this.#exits = new Uint32Array(n);
    this.#awaitingDone = new Int32Array(n).fill(-1);
    this.#awaitingStamp = new Int32Array(n).fill(-1);
    this.#awaitingStampSeq = new Uint32Array(n);
  }

  event(event: RunEvent): void {
    this.#events.push(event);
    this.#marks.push(this.hypercalls.length);
  }

  /** Counts a hypercall exit `vp` posted (parallel runs): its stamp is in the slot this number picks. */
  countExit(vp: number): void {
    this.#exits[vp]!++;
  }

  /** Hypercall exit `entry` of `vp` was logged without times: `timeHypercalls` fills them in. */
  awaitTimes(vp: number, entry: number): void {
    this.#awaitingDone[vp] = entry;
  }

  /**
   * Times `vp`'s hypercall exit that just completed (its completion time: now) and the one
   * before it (its start: the vCPU stamped it after posting, and has certainly done so since it
   * has posted a later exit). Runs after the vCPU was released, while it runs.
   */
  timeHypercalls(vp: number): void {
    const done = this.#awaitingDone[vp]!;
    const previous = this.#awaitingStamp[vp]!;
    if (previous >= 0 && previous !== done) {
      this.#stamp(vp, previous, this.#awaitingStampSeq[vp]!);
      this.#awaitingStamp[vp] = -1;
    }
    if (done < 0) return;
    this.hypercalls.setDone(done, this.#clock.now());
    this.#awaitingDone[vp] = -1;
    this.#awaitingStamp[vp] = done;
    this.#awaitingStampSeq[vp] = this.#exits[vp]!;
  }

  /** Once the vCPUs are gone: the stamps they left for exits no later exit followed. */
  timeLastHypercalls(): void {
    for (let vp = 0; vp < this.#mb.vcpus; vp++) {
      this.timeHypercalls(vp);
      const entry = this.#awaitingStamp[vp]!;
      if (entry >= 0) this.#stamp(vp, entry, this.#awaitingStampSeq[vp]!);
    }
  }

  #stamp(vp: number, entry: number, seq: number): void {
    this.hypercalls.setStart(entry, this.#mb.hypercallStamp(vp, seq) * 1000);
  }

  /** The events with every hypercall exit decoded, named by `dispatcher`'s descriptors. */
  decodedEvents(dispatcher: HypercallDispatcher): RunEvent[] {
    const out: RunEvent[] = [];
    let next = 0;
    for (const [i, event] of this.#events.entries()) {
      for (const mark = this.#marks[i]!; next < mark; next++) out.push(this.#decoded(next, dispatcher));
      out.push(event);
    }
    for (; next < this.hypercalls.length; next++) out.push(this.#decoded(next, dispatcher));
    return out;
  }

  /** Hypercall exit `i` as an event: its `HypercallRecord` (as observers get it), timed. */
  #decoded(i: number, dispatcher: HypercallDispatcher): RunEvent {
    const e = this.hypercalls.entry(i);
    const detail = this.details?.get(i);
    // One record per logged call, millions in a long run: no copy of the entry without a detail.
    const r = dispatcher.recordOf(
      detail === undefined ? e : { vp: e.vp, control: e.control, end: e.end, detail },
    );
    const event: HypercallEvent = {
      kind: 'hypercall',
      vp: r.vp,
      ts: e.ts,
      dur: e.dur,
      name: r.name,
      callCode: r.callCode,
      control: hex(r.control),
      fast: r.fast,
      variableHeaderSize: r.variableHeaderSize,
      repCount: r.repCount,
      repStartIndex: r.repStartIndex,
      status: hypercallRecordStatus(r),
      repsCompleted: r.repsCompleted,
    };
    return detail === undefined ? event : { ...event, detail };
  }
}
