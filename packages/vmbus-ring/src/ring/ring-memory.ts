/**
 * Where a ring lives: a control page and a data area of whole 4 KiB pages, either one plain
 * SharedArrayBuffer or guest pages named by a GPADL (non-contiguous PFNs, the first one the
 * control page). Copies are split where the data area wraps and where the pages stop being
 * contiguous; nothing here reads a value the peer wrote except as bytes.
 */
import { type GuestMemory, GuestPage, HV_PAGE_SIZE } from '@pvlab/hypercall';
import { RING_CONTROL_PAGE_SIZE, RING_DATA_PAGE_SIZE } from '../wire/control-page.js';

/** The largest data area: indices are u32 and the arithmetic stays in 31-bit numbers. */
export const MAX_RING_DATA_SIZE = 0x4000_0000;

/** A stretch of the data area that is contiguous in the backing buffer. */
interface DataRun {
  /** First data offset of the run. */
  readonly start: number;
  /** One past its last data offset. */
  readonly end: number;
  readonly bytes: Uint8Array;
}

/**
 * How `RingMemory.fromPages` reaches a ring's pages: each page's bytes once (a view into the
 * shared RAM buffer), and a check run before every ring operation — an isolation VM's host
 * accessor refuses pages that are no longer host-visible there.
 */
export interface RingPageAccessor {
  /** The 4096 bytes of the page at `gpa`, a view into the backing buffer (throws when out of reach). */
  page(gpa: bigint): Uint8Array;
  /**
   * Runs before every reader/writer operation. A `RingCorruptError` (kind `access-refused`) ends
   * the ring like any corruption (the reader/writer report it); any other error propagates.
   */
  check?(): void;
}

/** The control page and data area one ring works over. */
export class RingMemory {
  /** The control page as u32 words (indexes in `RingControlWord`), accessed with `Atomics`. */
  readonly control: Uint32Array;
  /** Bytes of the data area (a multiple of 4096). */
  readonly dataSize: number;
  /** Data runs; `#single` is set when there is exactly one (the fast path). */
  readonly #runs: readonly DataRun[];
  readonly #single: Uint8Array | null;
  /** Data page number → index into `#runs`. */
  readonly #pageRun: Uint32Array;
  /** A DataView over the whole data area when it is one run (else `null`): the fast path. */
  readonly dataView: DataView | null;
  /** The whole data area's bytes when it is one run (else `null`). */
  readonly dataBytes: Uint8Array | null;
  /** Run by the reader and writer before every operation (`RingPageAccessor.check`); `null`: none. */
  readonly check: (() => void) | null;

  private constructor(
    control: Uint32Array,
    runs: readonly DataRun[],
    dataSize: number,
    check: (() => void) | null = null,
  ) {
    this.control = control;
    this.check = check;
    this.dataSize = dataSize;
    this.#runs = runs;
    this.#single = runs.length === 1 ? runs[0]!.bytes : null;
    this.dataBytes = this.#single;
    this.dataView =
      this.#single === null
        ? null
        : new DataView(this.#single.buffer, this.#single.byteOffset, this.#single.byteLength);
    this.#pageRun = new Uint32Array(dataSize / RING_DATA_PAGE_SIZE);
    runs.forEach((run, i) => {
      this.#pageRun.fill(i, run.start / RING_DATA_PAGE_SIZE, run.end / RING_DATA_PAGE_SIZE);
    });
  }

  /**
   * A ring laid out in `buffer` from `byteOffset`: the control page, then `byteLength − 4096`
   * bytes of data (default: the rest of the buffer).
   */
  static fromSharedArrayBuffer(buffer: SharedArrayBuffer, byteOffset = 0, byteLength?: number): RingMemory {
    const length = byteLength ?? buffer.byteLength - byteOffset;
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset % 8 !== 0) {
      throw new RangeError(`ring byteOffset ${byteOffset} is not accepted: use a multiple of 8`);
    }
    if (!Number.isSafeInteger(length) || byteOffset + length > buffer.byteLength) {
      throw new RangeError(
        `ring byteLength ${length} at offset ${byteOffset} does not fit the ${buffer.byteLength}-byte buffer`,
      );
    }
    const dataSize = checkDataSize(length - RING_CONTROL_PAGE_SIZE);
    const control = new Uint32Array(buffer, byteOffset, RING_CONTROL_PAGE_SIZE / 4);
    const bytes = new Uint8Array(buffer, byteOffset + RING_CONTROL_PAGE_SIZE, dataSize);
    return new RingMemory(control, [{ start: 0, end: dataSize, bytes }], dataSize);
  }

  /** A fresh zeroed SharedArrayBuffer with a control page and `dataSize` bytes of data. */
  static allocate(dataSize: number): RingMemory {
    checkDataSize(dataSize);
    return RingMemory.fromSharedArrayBuffer(new SharedArrayBuffer(RING_CONTROL_PAGE_SIZE + dataSize));
  }

  /**
   * A ring over guest pages: `pfns[0]` is the control page, the rest the data pages in ring
   * order (a GPADL's PFN list, or the half of one that `splitChannelGpadl` gives). Adjacent PFNs
   * are coalesced into one run. A PFN outside RAM is a `MEMORY` GuestFault.
   */
  static fromGuestPages(memory: GuestMemory, pfns: readonly bigint[]): RingMemory {
    if (pfns.length < 2) {
      throw new RangeError(
        `a ring needs a control page and at least one data page, got ${pfns.length} PFN(s)`,
      );
    }
    const dataSize = checkDataSize((pfns.length - 1) * HV_PAGE_SIZE);
    const offsetOf = (pfn: bigint) => memory.offsetOf(GuestPage.address(pfn), HV_PAGE_SIZE);
    const control = new Uint32Array(memory.buffer, offsetOf(pfns[0]!), RING_CONTROL_PAGE_SIZE / 4);
    const runs: DataRun[] = [];
    let runStart = 0;
    let runOffset = offsetOf(pfns[1]!);
    for (let page = 1; page < pfns.length; page++) {
      const next = page + 1 < pfns.length ? offsetOf(pfns[page + 1]!) : -1;
      const end = page * HV_PAGE_SIZE;
      if (next !== runOffset + (end - runStart)) {
        runs.push({ start: runStart, end, bytes: new Uint8Array(memory.buffer, runOffset, end - runStart) });
        runStart = end;
        runOffset = next;
      }
    }
    return new RingMemory(control, runs, dataSize);
  }

  /**
   * A ring over pages an accessor resolves: `pageGpas[0]` is the control page, the rest the data
   * pages in ring order. Pages adjacent in the backing buffer are coalesced into one run; the
   * accessor's `check` runs before every ring operation (isolation VMs, spec 05 rule 10).
   */
  static fromPages(accessor: RingPageAccessor, pageGpas: readonly bigint[]): RingMemory {
    if (pageGpas.length < 2) {
      throw new RangeError(
        `a ring needs a control page and at least one data page, got ${pageGpas.length} page(s)`,
      );
    }
    const dataSize = checkDataSize((pageGpas.length - 1) * HV_PAGE_SIZE);
    const pages = pageGpas.map((gpa) => {
      const bytes = accessor.page(gpa);
      if (bytes.length !== HV_PAGE_SIZE || bytes.byteOffset % 4 !== 0) {
        throw new RangeError(
          `ring page 0x${gpa.toString(16)}: the accessor gave ${bytes.length} bytes at offset ${bytes.byteOffset}; use 4096-byte, 4-aligned views`,
        );
      }
      return bytes;
    });
    const head = pages[0]!;
    const control = new Uint32Array(head.buffer, head.byteOffset, RING_CONTROL_PAGE_SIZE / 4);
    const runs: DataRun[] = [];
    let first = pages[1]!;
    let runStart = 0;
    for (let page = 1; page < pages.length; page++) {
      const cur = pages[page]!;
      const next = pages[page + 1];
      const end = page * HV_PAGE_SIZE;
      const contiguous =
        next !== undefined &&
        next.buffer === cur.buffer &&
        next.byteOffset === first.byteOffset + (end - runStart);
      if (!contiguous) {
        runs.push({
          start: runStart,
          end,
          bytes: new Uint8Array(first.buffer, first.byteOffset, end - runStart),
        });
        if (next !== undefined) first = next;
        runStart = end;
      }
    }
    const check = accessor.check === undefined ? null : () => accessor.check!();
    return new RingMemory(control, runs, dataSize, check);
  }

  /** How many contiguous runs the data area has (1 for a SharedArrayBuffer ring). */
  get runCount(): number {
    return this.#runs.length;
  }

  /** Copies `src` into the data area at `offset`, wrapping at the end. `src.length` ≤ dataSize. */
  copyIn(offset: number, src: Uint8Array): void {
    const single = this.#single;
    const size = this.dataSize;
    const len = src.length;
    if (single !== null) {
      if (offset + len <= size) single.set(src, offset);
      else {
        const first = size - offset;
        single.set(src.subarray(0, first), offset);
        single.set(src.subarray(first), 0);
      }
      return;
    }
    let done = 0;
    let at = offset;
    while (done < len) {
      const run = this.#runs[this.#pageRun[at >>> 12]!]!;
      const n = Math.min(len - done, run.end - at);
      run.bytes.set(done === 0 && n === len ? src : src.subarray(done, done + n), at - run.start);
      done += n;
      at += n;
      if (at === size) at = 0;
    }
  }

  /** Copies `dst.length` bytes of the data area at `offset` into `dst`, wrapping at the end. */
  copyOut(offset: number, dst: Uint8Array): void {
    const single = this.#single;
    const size = this.dataSize;
    const len = dst.length;
    if (single !== null) {
      if (offset + len <= size) dst.set(single.subarray(offset, offset + len));
      else {
        const first = size - offset;
        dst.set(single.subarray(offset, size));
        dst.set(single.subarray(0, len - first), first);
      }
      return;
    }
    let done = 0;
    let at = offset;
    while (done < len) {
      const run = this.#runs[this.#pageRun[at >>> 12]!]!;
      const n = Math.min(len - done, run.end - at);
      const from = at - run.start;
      dst.set(run.bytes.subarray(from, from + n), done);
      done += n;
      at += n;
      if (at === size) at = 0;
    }
  }

  /** Zeroes `length` bytes of the data area at `offset`, wrapping at the end. */
  zero(offset: number, length: number): void {
    let done = 0;
    let at = offset;
    while (done < length) {
      const run = this.#runs[this.#pageRun[at >>> 12]!]!;
      const n = Math.min(length - done, run.end - at);
      run.bytes.fill(0, at - run.start, at - run.start + n);
      done += n;
      at += n;
      if (at === this.dataSize) at = 0;
    }
  }

  /**
   * A zero-copy view of `[offset, offset + length)` when it neither wraps nor crosses a gap
   * between runs, else `null` (the caller copies).
   */
  view(offset: number, length: number): Uint8Array | null {
    const single = this.#single;
    if (single !== null)
      return offset + length <= this.dataSize ? single.subarray(offset, offset + length) : null;
    const run = this.#runs[this.#pageRun[offset >>> 12]!]!;
    if (offset + length > run.end) return null;
    return run.bytes.subarray(offset - run.start, offset - run.start + length);
  }
}

function checkDataSize(dataSize: number): number {
  if (
    !Number.isSafeInteger(dataSize) ||
    dataSize < RING_DATA_PAGE_SIZE ||
    dataSize % RING_DATA_PAGE_SIZE !== 0 ||
    dataSize > MAX_RING_DATA_SIZE
  ) {
    throw new RangeError(
      `ring data size ${dataSize} is not accepted: use a multiple of ${RING_DATA_PAGE_SIZE} bytes between ${RING_DATA_PAGE_SIZE} and ${MAX_RING_DATA_SIZE}`,
    );
  }
  return dataSize;
}

/** The two rings of a channel in one GPADL (spec 04 rule 2). */
export type ChannelGpadlSplit =
  | { readonly ok: true; readonly outbound: readonly bigint[]; readonly inbound: readonly bigint[] }
  | { readonly ok: false; readonly reason: string };

/**
 * Spec 04 rule 2: one GPADL covers both rings — guest→host first, host→guest from page
 * `downstreamRingPageOffset` (OPENCHANNEL's field, in pages, counting the control page). Both are
 * guest values, so a bad split is a result, not an exception: each ring needs a control page and
 * at least one data page.
 */
export function splitChannelGpadl(
  pfns: readonly bigint[],
  downstreamRingPageOffset: number,
): ChannelGpadlSplit {
  if (!Number.isInteger(downstreamRingPageOffset) || downstreamRingPageOffset < 2) {
    return { ok: false, reason: `downstream_ring_page_offset ${downstreamRingPageOffset} < 2` };
  }
  if (downstreamRingPageOffset > pfns.length - 2) {
    return {
      ok: false,
      reason: `downstream_ring_page_offset ${downstreamRingPageOffset} leaves fewer than 2 of the GPADL's ${pfns.length} pages for the host→guest ring`,
    };
  }
  return {
    ok: true,
    outbound: pfns.slice(0, downstreamRingPageOffset),
    inbound: pfns.slice(downstreamRingPageOffset),
  };
}
