import { GuestFault, GuestMemory, type GuestPhysicalMemory, HV_PAGE_SHIFT } from '@pvlab/hypercall';
import { type AccessKind, IsolationFault } from '../errors.js';
import { sharedGpaBoundary } from '../wire/isolation-config.js';
import { VisibilityMap } from './visibility-map.js';

const PAGE_SHIFT = BigInt(HV_PAGE_SHIFT);
const hex = (v: bigint) => `0x${v.toString(16)}`;

/** What the guest's memory view is made of; every part can be shared with vCPU threads. */
export interface IsolatedGuestMemoryOptions {
  readonly memory: GuestMemory;
  readonly visibility: VisibilityMap;
  /** vTOM: GPA `g | boundary` is the shared alias of RAM GPA `g`. */
  readonly boundary: bigint;
  /** Called with every wrong-alias fault before it is thrown (the trace hook). */
  readonly onFault?: (fault: IsolationFault) => void;
}

/**
 * The guest's view of an isolation VM's memory (`vm.memory`), spec 05 rule 3: GPA < boundary is
 * private RAM and reaches only private pages; GPA ≥ boundary is the shared alias of page
 * (GPA − boundary) and reaches only host-visible pages. The wrong alias is an `IsolationFault`
 * (vector MEMORY); a GPA with no RAM behind it is a `MEMORY` GuestFault, as in `GuestMemory`.
 */
export class IsolatedGuestMemory implements GuestPhysicalMemory {
  readonly ram: GuestMemory;
  readonly visibility: VisibilityMap;
  readonly boundary: bigint;
  /** Bytes of RAM (the private range is [0, size), the alias window [boundary, boundary + size)). */
  readonly size: number;
  readonly #onFault: ((fault: IsolationFault) => void) | undefined;
  readonly #ramEnd: bigint;

  constructor(options: IsolatedGuestMemoryOptions) {
    const { memory, visibility, boundary } = options;
    if (visibility.pages * 4096 !== memory.size) {
      throw new RangeError(
        `visibility map of ${visibility.pages} pages does not cover ${memory.size} bytes of RAM: use one byte per 4 KiB page`,
      );
    }
    if (boundary < BigInt(memory.size)) {
      throw new RangeError(
        `shared GPA boundary ${hex(boundary)} is below the end of RAM ${hex(BigInt(memory.size))}: use a boundary ≥ the RAM size`,
      );
    }
    this.ram = memory;
    this.visibility = visibility;
    this.boundary = boundary;
    this.size = memory.size;
    this.#onFault = options.onFault;
    this.#ramEnd = BigInt(memory.size);
  }

  /**
   * The same view inside a vCPU thread, from the buffers the host shares with it. `ramBytes` is
   * RAM's size (the memory's buffer is rounded up to 64 KiB pages); without it, the buffer's
   * length.
   */
  static fromShared(shared: {
    memoryBuffer: SharedArrayBuffer;
    ramBytes?: number;
    visibilityBuffer: SharedArrayBuffer;
    sharedGpaBoundaryBits: number;
  }): IsolatedGuestMemory {
    return new IsolatedGuestMemory({
      memory: new GuestMemory(shared.memoryBuffer, shared.ramBytes),
      visibility: new VisibilityMap(shared.visibilityBuffer),
      boundary: sharedGpaBoundary(shared.sharedGpaBoundaryBits),
    });
  }

  /**
   * The RAM byte offset of `[gpa, gpa + length)` after the alias checks; `place` names the guest
   * object in a fault. Throws `IsolationFault` or a `MEMORY` GuestFault.
   */
  offsetOf(gpa: bigint, length: number, access: AccessKind = 'read', place?: string): number {
    const shared = gpa >= this.boundary;
    const ramGpa = shared ? gpa - this.boundary : gpa;
    if (!Number.isSafeInteger(length) || length < 0 || gpa < 0n || ramGpa + BigInt(length) > this.#ramEnd) {
      throw new GuestFault(
        'MEMORY',
        `${place === undefined ? '' : `${place}: `}access to GPA ${hex(gpa)} (+${length} bytes) outside RAM (private 0x0..${hex(this.#ramEnd - 1n)}, shared alias ${hex(this.boundary)}..${hex(this.boundary + this.#ramEnd - 1n)})`,
        gpa,
      );
    }
    if (length > 0) {
      const first = Number(ramGpa >> PAGE_SHIFT);
      const last = Number((ramGpa + BigInt(length - 1)) >> PAGE_SHIFT);
      for (let pfn = first; pfn <= last; pfn++) {
        const v = this.visibility.get(pfn);
        if ((v === 0) === shared) this.#fault(gpa, ramGpa, pfn, first, v, shared, access, place);
      }
    }
    return Number(ramGpa);
  }

  read(gpa: bigint, length: number, place?: string): Uint8Array {
    const off = this.offsetOf(gpa, length, 'read', place);
    return this.ram.bytes.slice(off, off + length);
  }

  write(gpa: bigint, data: Uint8Array, place?: string): void {
    this.ram.bytes.set(data, this.offsetOf(gpa, data.length, 'write', place));
  }

  /** Sets `length` bytes at `gpa` to `value`. */
  fill(gpa: bigint, length: number, value = 0, place?: string): void {
    const off = this.offsetOf(gpa, length, 'write', place);
    this.ram.bytes.fill(value, off, off + length);
  }

  readU8(gpa: bigint): number {
    return this.ram.view.getUint8(this.offsetOf(gpa, 1));
  }
  readU16(gpa: bigint): number {
    return this.ram.view.getUint16(this.offsetOf(gpa, 2), true);
  }
  readU32(gpa: bigint): number {
    return this.ram.view.getUint32(this.offsetOf(gpa, 4), true);
  }
  readU64(gpa: bigint): bigint {
    return this.ram.view.getBigUint64(this.offsetOf(gpa, 8), true);
  }
  writeU8(gpa: bigint, value: number): void {
    this.ram.view.setUint8(this.offsetOf(gpa, 1, 'write'), value);
  }
  writeU16(gpa: bigint, value: number): void {
    this.ram.view.setUint16(this.offsetOf(gpa, 2, 'write'), value, true);
  }
  writeU32(gpa: bigint, value: number): void {
    this.ram.view.setUint32(this.offsetOf(gpa, 4, 'write'), value, true);
  }
  writeU64(gpa: bigint, value: bigint): void {
    this.ram.view.setBigUint64(this.offsetOf(gpa, 8, 'write'), BigInt.asUintN(64, value), true);
  }

  #fault(
    gpa: bigint,
    ramGpa: bigint,
    pfn: number,
    firstPfn: number,
    visibility: number,
    shared: boolean,
    access: AccessKind,
    place: string | undefined,
  ): never {
    // The first wrong byte: the access's own GPA on its first page, else the page start.
    const byteGpa = pfn === firstPfn ? ramGpa : BigInt(pfn) << PAGE_SHIFT;
    const fault = new IsolationFault({
      gpa: pfn === firstPfn ? gpa : shared ? byteGpa + this.boundary : byteGpa,
      access,
      side: shared ? 'shared' : 'private',
      pfn: BigInt(pfn),
      visibility,
      correctGpa: shared ? byteGpa : byteGpa | this.boundary,
      place,
    });
    this.#onFault?.(fault);
    throw fault;
  }
}
