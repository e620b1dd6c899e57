import { GuestFault } from './guest-fault.js';
import { allocateSharedWasmMemory, isWasmMemory, WASM32_MAX_BYTES, type WasmMemory } from './wasm-memory.js';
import { HV_PAGE_SHIFT, HV_PAGE_SIZE } from './wire/page.js';

/**
 * Byte-range access to guest physical memory by GPA; what `vm.memory` offers. `place` names the
 * guest object an access serves, so that a refusal names it (isolation views use it; plain RAM
 * has nothing to refuse and ignores it). `GuestMemory`, `IsolatedGuestMemory` and `HostMemoryView`
 * all fit.
 */
export interface GuestPhysicalMemory {
  /** Size of RAM in bytes; RAM spans GPA 0 .. size-1. */
  readonly size: number;
  /** Copies `length` bytes at `gpa` out of guest memory. */
  read(gpa: bigint, length: number, place?: string): Uint8Array;
  /** Copies `data` into guest memory at `gpa`. */
  write(gpa: bigint, data: Uint8Array, place?: string): void;
}

/** A page-granular GPA helper set (pages are 4 KiB). */
export const GuestPage = {
  /** The page frame number of a GPA. */
  number(gpa: bigint): bigint {
    return gpa >> BigInt(HV_PAGE_SHIFT);
  },
  /** The GPA of the start of page `gpfn`. */
  address(gpfn: bigint): bigint {
    return gpfn << BigInt(HV_PAGE_SHIFT);
  },
  /** The byte offset of a GPA within its page. */
  offset(gpa: bigint): number {
    return Number(gpa & BigInt(HV_PAGE_SIZE - 1));
  },
  /** `true` when `[gpa, gpa + length)` touches more than one page. */
  straddles(gpa: bigint, length: number): boolean {
    return length > 0 && GuestPage.offset(gpa) + length > HV_PAGE_SIZE;
  },
  /** `true` when `gpa` is the first byte of a page. */
  isAligned(gpa: bigint): boolean {
    return (gpa & BigInt(HV_PAGE_SIZE - 1)) === 0n;
  },
} as const;

/**
 * The largest RAM a partition may have: 4 GiB, what one typed array over a SharedArrayBuffer
 * reaches and what wasm32 addresses (65536 pages of 64 KiB).
 */
export const MAX_GUEST_MEMORY_BYTES = WASM32_MAX_BYTES;

/**
 * Guest RAM: GPA = byte offset of one shared buffer. Allocated by size, that buffer is the
 * buffer of a shared `WebAssembly.Memory` (`wasmMemory`), so a wasm guest's addresses are GPAs.
 * Every access is bounds-checked against `size`; touching a GPA outside RAM raises a
 * `GuestFault` with vector `MEMORY`, never a RangeError. Values are little-endian; 64-bit
 * values are bigints.
 */
export class GuestMemory implements GuestPhysicalMemory {
  /**
   * The shared buffer RAM is the start of. A memory allocated by size is rounded up to whole
   * 64 KiB wasm pages, so `buffer.byteLength` may exceed `size`: the bytes past `size` are no
   * GPA (an access there is a `MEMORY` fault like any other outside RAM).
   */
  readonly buffer: SharedArrayBuffer;
  /** RAM's size in bytes, a multiple of 4 KiB: the GPA limit, whatever the buffer's length. */
  readonly size: number;
  /** The raw bytes of RAM (`size` of them). Host internals index it with offsets from `offsetOf`. */
  readonly bytes: Uint8Array;
  /** A DataView over the same bytes. */
  readonly view: DataView;
  /**
   * The shared `WebAssembly.Memory` (initial = maximum: it never grows) whose buffer is RAM,
   * for a wasm guest to import; `undefined` when this wraps a plain SharedArrayBuffer.
   */
  readonly wasmMemory: WasmMemory | undefined;

  /**
   * `new GuestMemory(size)` allocates `size` bytes of RAM as a shared `WebAssembly.Memory`.
   * `new GuestMemory(memory, size?)` wraps an existing one, or a SharedArrayBuffer (e.g. one
   * shared with worker threads), without copying it: RAM is its first `size` bytes (default:
   * all of it). Pass `size` whenever the buffer came from a memory allocated by size.
   */
  constructor(size: number);
  constructor(memory: WasmMemory | SharedArrayBuffer, size?: number);
  constructor(source: number | WasmMemory | SharedArrayBuffer, size?: number) {
    if (typeof source === 'number') {
      this.size = checkSize(source);
      this.wasmMemory = allocateSharedWasmMemory(this.size);
      this.buffer = this.wasmMemory.buffer as SharedArrayBuffer;
    } else {
      const wasm = isWasmMemory(source);
      const buffer = wasm ? source.buffer : source;
      if (!(buffer instanceof SharedArrayBuffer)) {
        throw new TypeError(
          wasm
            ? 'guest memory needs a shared WebAssembly.Memory (created with shared: true)'
            : `guest memory needs a size, a SharedArrayBuffer or a shared WebAssembly.Memory; got ${Object.prototype.toString.call(source)}`,
        );
      }
      this.size = checkSize(size ?? buffer.byteLength);
      if (this.size > buffer.byteLength) {
        throw new RangeError(
          `guest memory size ${this.size} does not fit the ${buffer.byteLength}-byte buffer: use a size up to the buffer's length`,
        );
      }
      this.wasmMemory = wasm ? (source as WasmMemory) : undefined;
      this.buffer = buffer;
    }
    this.bytes = new Uint8Array(this.buffer, 0, this.size);
    this.view = new DataView(this.buffer, 0, this.size);
  }

  /** `true` when `[gpa, gpa + length)` lies in RAM. */
  contains(gpa: bigint, length: number): boolean {
    // A non-integer length is out of range too (BigInt() would throw a RangeError on it).
    return (
      gpa >= 0n && Number.isSafeInteger(length) && length >= 0 && gpa + BigInt(length) <= BigInt(this.size)
    );
  }

  /** The byte offset of `[gpa, gpa + length)`, or a `MEMORY` fault when it is not all RAM. */
  offsetOf(gpa: bigint, length: number): number {
    if (!this.contains(gpa, length)) {
      throw new GuestFault(
        'MEMORY',
        `access to GPA 0x${gpa.toString(16)} (+${length} bytes) outside RAM (0x0..0x${(this.size - 1).toString(16)})`,
        gpa,
      );
    }
    return Number(gpa);
  }

  read(gpa: bigint, length: number): Uint8Array {
    const off = this.offsetOf(gpa, length);
    return this.bytes.slice(off, off + length);
  }

  write(gpa: bigint, data: Uint8Array): void {
    this.bytes.set(data, this.offsetOf(gpa, data.length));
  }

  /** Sets `length` bytes at `gpa` to `value`. */
  fill(gpa: bigint, length: number, value = 0): void {
    const off = this.offsetOf(gpa, length);
    this.bytes.fill(value, off, off + length);
  }

  readU8(gpa: bigint): number {
    return this.view.getUint8(this.offsetOf(gpa, 1));
  }
  readU16(gpa: bigint): number {
    return this.view.getUint16(this.offsetOf(gpa, 2), true);
  }
  readU32(gpa: bigint): number {
    return this.view.getUint32(this.offsetOf(gpa, 4), true);
  }
  readU64(gpa: bigint): bigint {
    return this.view.getBigUint64(this.offsetOf(gpa, 8), true);
  }
  writeU8(gpa: bigint, value: number): void {
    this.view.setUint8(this.offsetOf(gpa, 1), value);
  }
  writeU16(gpa: bigint, value: number): void {
    this.view.setUint16(this.offsetOf(gpa, 2), value, true);
  }
  writeU32(gpa: bigint, value: number): void {
    this.view.setUint32(this.offsetOf(gpa, 4), value, true);
  }
  writeU64(gpa: bigint, value: bigint): void {
    this.view.setBigUint64(this.offsetOf(gpa, 8), BigInt.asUintN(64, value), true);
  }
}

function checkSize(size: number): number {
  if (
    !Number.isSafeInteger(size) ||
    size < HV_PAGE_SIZE ||
    size % HV_PAGE_SIZE !== 0 ||
    size > MAX_GUEST_MEMORY_BYTES
  ) {
    throw new RangeError(
      `guest memory size ${size} is not accepted: use a multiple of ${HV_PAGE_SIZE} bytes between ${HV_PAGE_SIZE} and ${MAX_GUEST_MEMORY_BYTES}`,
    );
  }
  return size;
}
