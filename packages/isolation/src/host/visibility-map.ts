import { HV_PAGE_SIZE } from '@pvlab/hypercall';
import { type HostVisibilityValue, isHostVisibility } from '../wire/visibility.js';

/**
 * The per-page visibility bitmap: one byte per 4 KiB page of RAM holding its HostVisibility
 * (0, 1 or 3), in a SharedArrayBuffer so that vCPU threads check accesses against the same
 * state the host changes. Reads and writes are `Atomics` operations.
 */
export class VisibilityMap {
  readonly buffer: SharedArrayBuffer;
  readonly #bytes: Uint8Array;
  /** Pages of RAM covered. */
  readonly pages: number;

  /** A map for `ramBytes` of RAM, all private; or over an existing buffer (one byte per page). */
  constructor(ramBytesOrBuffer: number | SharedArrayBuffer) {
    if (typeof ramBytesOrBuffer === 'number') {
      if (
        !Number.isSafeInteger(ramBytesOrBuffer) ||
        ramBytesOrBuffer <= 0 ||
        ramBytesOrBuffer % HV_PAGE_SIZE
      ) {
        throw new RangeError(
          `RAM size ${ramBytesOrBuffer} is not accepted: use a positive multiple of ${HV_PAGE_SIZE}`,
        );
      }
      this.buffer = new SharedArrayBuffer(ramBytesOrBuffer / HV_PAGE_SIZE);
    } else this.buffer = ramBytesOrBuffer;
    this.#bytes = new Uint8Array(this.buffer);
    this.pages = this.#bytes.length;
  }

  /** The visibility of page `pfn` (which must be < `pages`). */
  get(pfn: number): number {
    return Atomics.load(this.#bytes, pfn);
  }

  /** Sets page `pfn`'s visibility. */
  set(pfn: number, visibility: HostVisibilityValue): void {
    if (!isHostVisibility(visibility) || !Number.isInteger(pfn) || pfn < 0 || pfn >= this.pages) {
      throw new RangeError(
        `visibility ${visibility} for page ${pfn} is not accepted: use 0, 1 or 3 for a page 0..${this.pages - 1}`,
      );
    }
    Atomics.store(this.#bytes, pfn, visibility);
  }

  /** The host-visible pages (visibility ≠ 0), ascending. */
  visiblePages(): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.pages; p++) if (this.get(p) !== 0) out.push(p);
    return out;
  }

  /** A copy of the bytes (for snapshots and tests). */
  toBytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}
