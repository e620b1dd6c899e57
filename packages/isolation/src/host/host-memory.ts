import { type GuestMemory, HV_PAGE_SHIFT } from '@pvlab/hypercall';
import type { HostMemoryAccess } from '@pvlab/hypercall/host';
import { type AccessKind, HostAccessError, type HostAccessRefusal } from '../errors.js';
import { HostVisibility } from '../wire/visibility.js';
import type { VisibilityMap } from './visibility-map.js';

const PAGE_SHIFT = BigInt(HV_PAGE_SHIFT);

/**
 * The host's view of an isolation VM's memory (`vm.hostMemory`), spec 05 rule 10: the host
 * reaches RAM only through the shared alias (GPA ≥ boundary), reads only pages the guest made
 * READ_ONLY or READ_WRITE, and writes only READ_WRITE pages. Anything else throws a
 * `HostAccessError` (after telling `onRefused`, the trace hook) — never silently. It is the
 * partition's `HOST_MEMORY` port, through which device models reach guest memory.
 */
export class HostMemoryView implements HostMemoryAccess {
  readonly #ram: GuestMemory;
  readonly #visibility: VisibilityMap;
  readonly boundary: bigint;
  readonly #ramEnd: bigint;
  readonly #onRefused: ((error: HostAccessError) => void) | undefined;

  constructor(
    ram: GuestMemory,
    visibility: VisibilityMap,
    boundary: bigint,
    onRefused?: (error: HostAccessError) => void,
  ) {
    this.#ram = ram;
    this.#visibility = visibility;
    this.boundary = boundary;
    this.#ramEnd = BigInt(ram.size);
    this.#onRefused = onRefused;
  }

  /** Bytes of RAM behind the alias window. */
  get size(): number {
    return this.#ram.size;
  }

  /** The alias GPA of RAM page `pfn` (spec 05 rule 15: the host translates GPADL PFNs itself). */
  aliasOfPage(pfn: bigint): bigint {
    return (pfn << PAGE_SHIFT) | this.boundary;
  }

  /** `true` when `read`/`write` (per `access`) of `[gpa, gpa + length)` would be allowed. */
  allows(gpa: bigint, length: number, access: AccessKind): boolean {
    return this.#refusal(gpa, length, access) === undefined;
  }

  /** Copies `length` bytes at alias GPA `gpa`; `place` names the object in a refusal. */
  read(gpa: bigint, length: number, place?: string): Uint8Array {
    const off = this.#offsetOf(gpa, length, 'read', place);
    return this.#ram.bytes.slice(off, off + length);
  }

  /** Copies `data` to alias GPA `gpa`. */
  write(gpa: bigint, data: Uint8Array, place?: string): void {
    this.#ram.bytes.set(data, this.#offsetOf(gpa, data.length, 'write', place));
  }

  readU32(gpa: bigint): number {
    return this.#ram.view.getUint32(this.#offsetOf(gpa, 4, 'read'), true);
  }
  readU64(gpa: bigint): bigint {
    return this.#ram.view.getBigUint64(this.#offsetOf(gpa, 8, 'read'), true);
  }
  writeU32(gpa: bigint, value: number): void {
    this.#ram.view.setUint32(this.#offsetOf(gpa, 4, 'write'), value >>> 0, true);
  }
  writeU64(gpa: bigint, value: bigint): void {
    this.#ram.view.setBigUint64(this.#offsetOf(gpa, 8, 'write'), BigInt.asUintN(64, value), true);
  }

  #offsetOf(gpa: bigint, length: number, access: AccessKind, place?: string): number {
    if (!Number.isSafeInteger(length) || length < 0 || typeof gpa !== 'bigint') {
      throw new RangeError(
        `host ${access} of ${String(length)} bytes at ${String(gpa)} is not accepted: use a bigint GPA and a byte count ≥ 0`,
      );
    }
    const refusal = this.#refusal(gpa, length, access);
    if (refusal !== undefined) {
      const error = new HostAccessError({ gpa, length, access, boundary: this.boundary, place, ...refusal });
      this.#onRefused?.(error);
      throw error;
    }
    return Number(gpa - this.boundary);
  }

  #refusal(
    gpa: bigint,
    length: number,
    access: AccessKind,
  ): { reason: HostAccessRefusal; pfn?: bigint; visibility?: number } | undefined {
    if (gpa < this.boundary || this.boundary === 0n) {
      const pfn = gpa >= 0n && gpa < this.#ramEnd ? gpa >> PAGE_SHIFT : undefined;
      return pfn === undefined
        ? { reason: 'below-boundary' }
        : { reason: 'below-boundary', pfn, visibility: this.#visibility.get(Number(pfn)) };
    }
    const ramGpa = gpa - this.boundary;
    if (ramGpa + BigInt(length) > this.#ramEnd) return { reason: 'outside-ram' };
    if (length === 0) return undefined;
    const first = Number(ramGpa >> PAGE_SHIFT);
    const last = Number((ramGpa + BigInt(length - 1)) >> PAGE_SHIFT);
    for (let pfn = first; pfn <= last; pfn++) {
      const v = this.#visibility.get(pfn);
      if (v === HostVisibility.NOT_VISIBLE) return { reason: 'not-visible', pfn: BigInt(pfn), visibility: v };
      if (access === 'write' && v !== HostVisibility.READ_WRITE)
        return { reason: 'read-only', pfn: BigInt(pfn), visibility: v };
    }
    return undefined;
  }
}
