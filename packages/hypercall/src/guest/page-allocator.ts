import type { GuestPhysicalMemory } from '../memory.js';
import { HV_PAGE_SIZE } from '../wire/page.js';

/** Raised when guest code runs out of the pages it was given. */
export class GuestOutOfMemoryError extends Error {
  override readonly name = 'GuestOutOfMemoryError';
}

/**
 * The guest's page allocator: hands out zeroed, page-aligned runs from `[base, limit)` of guest
 * RAM, like the kernel's page allocator does for per-CPU hypercall pages. Never frees.
 */
export class GuestPageAllocator {
  readonly #memory: GuestPhysicalMemory;
  #next: bigint;
  readonly #limit: bigint;

  constructor(memory: GuestPhysicalMemory, base: bigint, limit: bigint = BigInt(memory.size)) {
    if (base % BigInt(HV_PAGE_SIZE) !== 0n || base < 0n || limit > BigInt(memory.size) || base > limit) {
      throw new RangeError(
        `page allocator range [0x${base.toString(16)}, 0x${limit.toString(16)}) is not page-aligned RAM`,
      );
    }
    this.#memory = memory;
    this.#next = base;
    this.#limit = limit;
  }

  /** Allocates `pages` zeroed contiguous pages and returns the GPA of the first. */
  allocPages(pages = 1): bigint {
    const bytes = BigInt(pages * HV_PAGE_SIZE);
    if (this.#next + bytes > this.#limit) {
      throw new GuestOutOfMemoryError(
        `guest page allocator exhausted: ${pages} page(s) wanted, 0x${(this.#limit - this.#next).toString(16)} bytes left`,
      );
    }
    const gpa = this.#next;
    this.#next += bytes;
    this.#memory.write(gpa, new Uint8Array(Number(bytes)));
    return gpa;
  }

  /** Bytes still free. */
  get remaining(): bigint {
    return this.#limit - this.#next;
  }
}
