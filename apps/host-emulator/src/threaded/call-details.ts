import type { GuestFaultValue } from '@pvlab/hypercall';
import {
  type HypercallDetail,
  type HypercallDispatcher,
  type HypercallSuspension,
  outcomeError,
} from '@pvlab/hypercall/host';

/**
 * The decoded details of a run's hypercall exits, beside the raw columnar log and indexed by the
 * same exit number. Taken from the dispatcher as each exit completes (the guest reuses its input
 * pages, so decoding at the end of the run would read later calls' bytes). Only made when the
 * dispatcher records details (`--trace` / `--json`); otherwise the run keeps none.
 */
export class CallDetails {
  readonly #dispatcher: HypercallDispatcher;
  readonly #byExit = new Map<number, HypercallDetail>();

  constructor(dispatcher: HypercallDispatcher) {
    this.#dispatcher = dispatcher;
  }

  /**
   * Keeps the detail of exit `exit`, the call the dispatcher handled last. `ended` is what the call
   * came to when it gave no result: a fault the dispatcher never saw (a #UD before dispatch)
   * becomes the reason, worded as its exception (`#UD: …`).
   */
  keep(exit: number, ended?: GuestFaultValue | HypercallSuspension): void {
    const detail = this.#dispatcher.takeDetail();
    if (detail !== undefined) this.#byExit.set(exit, detail);
    else if (ended !== undefined) this.#byExit.set(exit, { reason: outcomeError(ended).message });
  }

  get(exit: number): HypercallDetail | undefined {
    return this.#byExit.get(exit);
  }
}
