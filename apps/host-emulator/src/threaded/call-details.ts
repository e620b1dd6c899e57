import type { HypercallDetail, HypercallDispatcher } from '@pvlab/hypercall/host';

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
   * Keeps the detail of exit `exit`, the call the dispatcher handled last. `error` is what the call
   * threw, if it did: a fault the dispatcher never saw (a #UD before dispatch) becomes the reason.
   */
  keep(exit: number, error?: unknown): void {
    const detail = this.#dispatcher.takeDetail();
    if (detail !== undefined) this.#byExit.set(exit, detail);
    else if (error instanceof Error) this.#byExit.set(exit, { reason: error.message });
  }

  get(exit: number): HypercallDetail | undefined {
    return this.#byExit.get(exit);
  }
}
