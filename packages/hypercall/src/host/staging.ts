import { HV_PAGE_SIZE } from '../wire/page.js';
import { viewOf } from './dispatch-rules.js';

/**
 * Where a call's input and output lists are staged: one page each, since a parameter list is at
 * most one page. Handlers get views of exactly the list's length, one per length, made once.
 */
export class Staging {
  readonly inBuf = new ArrayBuffer(HV_PAGE_SIZE);
  readonly outBuf = new ArrayBuffer(HV_PAGE_SIZE);
  readonly inBytes = new Uint8Array(this.inBuf);
  readonly outBytes = new Uint8Array(this.outBuf);
  /** The whole pages, for copying word by word. */
  readonly inWhole = new DataView(this.inBuf);
  readonly outWhole = new DataView(this.outBuf);
  readonly #inViews: (DataView | undefined)[] = [];
  readonly #outViews: (DataView | undefined)[] = [];

  /** The view of the first `length` input bytes. */
  input(length: number): DataView {
    return viewOf(this.#inViews, this.inBuf, length);
  }

  /** The view of the first `length` output bytes. */
  output(length: number): DataView {
    return viewOf(this.#outViews, this.outBuf, length);
  }
}
