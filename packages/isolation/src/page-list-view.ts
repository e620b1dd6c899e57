import { type GuestPhysicalMemory, HV_PAGE_SHIFT, HV_PAGE_SIZE } from '@pvlab/hypercall';

/**
 * One contiguous view over a list of 4 KiB pages given by GPA (Linux `vmap_pfn`): byte `o` of the
 * view is byte `o & 0xfff` of page `gpas[o >> 12]`. Every access goes through `memory`, so the
 * isolation checks run on each access — a page converted back to private faults from then on.
 */
export class PageListView {
  readonly memory: GuestPhysicalMemory;
  /** The GPA of each page of the view, in view order. */
  readonly pageGpas: readonly bigint[];
  /** Bytes in the view. */
  readonly length: number;
  /** The guest object this view is (named in faults and refusals). */
  readonly place: string;

  constructor(memory: GuestPhysicalMemory, pageGpas: readonly bigint[], place: string) {
    for (const gpa of pageGpas) {
      if (typeof gpa !== 'bigint' || gpa < 0n || (gpa & BigInt(HV_PAGE_SIZE - 1)) !== 0n) {
        throw new RangeError(`page GPA ${String(gpa)} is not accepted: use page-aligned bigint GPAs`);
      }
    }
    this.memory = memory;
    this.pageGpas = pageGpas;
    this.length = pageGpas.length * HV_PAGE_SIZE;
    this.place = place;
  }

  /** The GPA behind view offset `offset`. */
  gpaOf(offset: number): bigint {
    this.#check(offset, 1);
    return this.pageGpas[offset >>> HV_PAGE_SHIFT]! + BigInt(offset & (HV_PAGE_SIZE - 1));
  }

  /** Copies `length` bytes at view offset `offset` out, page by page. */
  read(offset: number, length: number): Uint8Array {
    this.#check(offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const n = Math.min(length - done, HV_PAGE_SIZE - (at & (HV_PAGE_SIZE - 1)));
      out.set(this.memory.read(this.#gpa(at), n, this.place), done);
      done += n;
    }
    return out;
  }

  /** Copies `data` in at view offset `offset`, page by page. */
  write(offset: number, data: Uint8Array): void {
    this.#check(offset, data.length);
    let done = 0;
    while (done < data.length) {
      const at = offset + done;
      const n = Math.min(data.length - done, HV_PAGE_SIZE - (at & (HV_PAGE_SIZE - 1)));
      this.memory.write(this.#gpa(at), data.subarray(done, done + n), this.place);
      done += n;
    }
  }

  /** Zeroes `length` bytes at `offset` (default: the whole view). */
  zero(offset = 0, length = this.length - offset): void {
    this.write(offset, new Uint8Array(length));
  }

  readU32(offset: number): number {
    return new DataView(this.read(offset, 4).buffer).getUint32(0, true);
  }
  writeU32(offset: number, value: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    this.write(offset, b);
  }
  readU64(offset: number): bigint {
    return new DataView(this.read(offset, 8).buffer).getBigUint64(0, true);
  }
  writeU64(offset: number, value: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    this.write(offset, b);
  }

  #gpa(offset: number): bigint {
    return this.pageGpas[offset >>> HV_PAGE_SHIFT]! + BigInt(offset & (HV_PAGE_SIZE - 1));
  }

  #check(offset: number, length: number): void {
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.length
    ) {
      throw new RangeError(
        `${this.place}: access at offset ${offset} (+${length} bytes) is outside the ${this.length}-byte view`,
      );
    }
  }
}
