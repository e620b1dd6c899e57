import type { VmInternals } from '../vm-internals.js';
import type { Mailboxes } from './mailbox.js';
import { VIRTUAL_EXIT_US, VIRTUAL_SEGMENT_US } from './scheduler.js';

/** Virtual time a runnable vCPU waits while the picked one runs a segment and its exit (ns). */
const SEEDED_WAIT_NS = BigInt(Math.round((VIRTUAL_SEGMENT_US + VIRTUAL_EXIT_US) * 1000));

/**
 * Stolen time on vCPU threads (arm64 with PV time, spec 06): time a vCPU was runnable but not
 * running. Parallel runs measure it on the real clock — from the host releasing a vCPU to its
 * thread running again, when the OS had not scheduled it; seeded runs count it on the virtual
 * clock — the vCPUs that could run wait while the picked one runs.
 */
export class StolenTime {
  /** The host accounts stolen time (the VM has PV time). */
  readonly accounts: boolean;
  /** Parallel runs that account it measure each wait: the vCPU threads record when they resume. */
  readonly measures: boolean;
  readonly #internals: VmInternals;
  readonly #mb: Mailboxes;
  readonly #clockMs: () => number;
  /** When each vCPU was last released (ms since the run started; 0: not since its last exit). */
  readonly #releasedAt: Float64Array;

  constructor(
    internals: VmInternals,
    mb: Mailboxes,
    accounts: boolean,
    seeded: boolean,
    clockMs: () => number,
  ) {
    this.accounts = accounts;
    this.measures = accounts && !seeded;
    this.#internals = internals;
    this.#mb = mb;
    this.#clockMs = clockMs;
    this.#releasedAt = new Float64Array(mb.vcpus);
  }

  /** `vp` posted an exit: the wait between its release and its resumption was stolen (parallel runs). */
  exited(vp: number): void {
    if (!this.measures) return;
    const released = this.#releasedAt[vp]!;
    const resumed = this.#mb.resumedAt(vp);
    if (released > 0 && resumed > released)
      this.#internals.accountSteal(vp, BigInt(Math.round((resumed - released) * 1e6)));
    this.#releasedAt[vp] = 0;
  }

  /** `vp` is released to run again. */
  releasing(vp: number): void {
    // KVM rewrites the stolen-time record as the vCPU is loaded to run again (spec 06 rule 7).
    if (this.accounts) this.#internals.beforeRun(vp);
    if (this.measures) this.#releasedAt[vp] = this.#clockMs();
  }

  /** Seeded runs: every vCPU of `runnable` but `picked` waits while `picked` runs its segment and exit. */
  waiting(runnable: readonly number[], picked: number): void {
    if (!this.accounts) return;
    for (const other of runnable) if (other !== picked) this.#internals.accountSteal(other, SEEDED_WAIT_NS);
  }
}
