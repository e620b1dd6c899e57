import type { GuestPhysicalMemory } from '@pvlab/hypercall';
import { HV_PAGE_SHIFT, HV_PAGE_SIZE } from '@pvlab/hypercall';
import type { GuestHypercalls } from '@pvlab/hypercall/guest';
import { HostVisibility } from '../wire/visibility.js';
import { type SharedMappingOptions, SharedPlace } from './places.js';
import { setHostVisibility, type VisibilityChangeResult } from './visibility.js';

/** Linux `IO_TLB_SIZE`: a bounce slot is 2 KiB (IO_TLB_SHIFT 11). */
export const IO_TLB_SIZE = 2048;

/** Linux `enum dma_data_direction`, by what the device does with the buffer. */
export type DmaDirection = 'to-device' | 'from-device' | 'bidirectional';

const DIRECTIONS: readonly DmaDirection[] = ['to-device', 'from-device', 'bidirectional'];

/** A live bounce mapping: the private buffer and the slots that shadow it in the shared pool. */
export interface BounceMapping {
  /** Unique per pool, for diagnostics. */
  readonly id: number;
  readonly privateGpa: bigint;
  readonly length: number;
  readonly direction: DmaDirection;
  /** Where the device (the host) reaches the copy: the slot's alias, pool GPA + boundary. */
  readonly sharedGpa: bigint;
  /** The slot's private-space address (Linux `tlb_addr`). */
  readonly poolGpa: bigint;
  readonly firstSlot: number;
  readonly slots: number;
}

/** The pool has no run of free slots long enough (Linux "swiotlb buffer is full"). */
export class PoolExhausted extends Error {
  override readonly name = 'PoolExhausted';
  readonly requestBytes: number;
  readonly poolSlots: number;
  readonly freeSlots: number;

  constructor(requestBytes: number, slotBytes: number, poolSlots: number, freeSlots: number) {
    const wanted = Math.ceil(requestBytes / slotBytes);
    super(
      `${SharedPlace.BOUNCE_POOL} exhausted: a ${requestBytes}-byte mapping needs ${wanted} contiguous slot(s) of ${slotBytes} bytes; ` +
        `the pool has ${poolSlots} slots (${poolSlots * slotBytes} bytes), ${freeSlots} free`,
    );
    this.requestBytes = requestBytes;
    this.poolSlots = poolSlots;
    this.freeSlots = freeSlots;
  }
}

/** Where the pool lives. */
export interface BouncePoolOptions extends SharedMappingOptions {
  /** Private GPA of the pool (page-aligned, contiguous RAM). */
  readonly baseGpa: bigint;
  /** Pool size in bytes (a multiple of 4096). */
  readonly bytes: number;
  /** Slot size (default `IO_TLB_SIZE`); must divide 4096 or be a multiple of it. */
  readonly slotBytes?: number;
}

/**
 * A swiotlb-like bounce-buffer pool in shared memory (spec 05, Linux 5.16–6.2 with
 * `swiotlb_unencrypted_base = boundary`): a contiguous pool made host-visible once and reached
 * at pool + boundary; `map` copies a private buffer into free slots and gives the device their
 * shared address; `syncForDevice`/`syncForCpu` copy either way; `unmap` copies back what the
 * device wrote (from-device, bidirectional) and frees the slots. Slots are searched from a
 * rotating index, as Linux does.
 */
export class BouncePool {
  readonly #memory: GuestPhysicalMemory;
  readonly #boundary: bigint;
  readonly baseGpa: bigint;
  readonly slotBytes: number;
  readonly totalSlots: number;
  readonly #used: Uint8Array;
  readonly #live = new Map<number, BounceMapping>();
  readonly #forget: boolean;
  #index = 0;
  #nextId = 1;
  #free: number;

  constructor(memory: GuestPhysicalMemory, boundary: bigint, options: BouncePoolOptions) {
    const { baseGpa, bytes } = options;
    const slotBytes = options.slotBytes ?? IO_TLB_SIZE;
    if (typeof baseGpa !== 'bigint' || baseGpa < 0n || baseGpa % BigInt(HV_PAGE_SIZE) !== 0n) {
      throw new RangeError(
        `bounce pool base ${String(baseGpa)} is not accepted: use a page-aligned private GPA`,
      );
    }
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % HV_PAGE_SIZE !== 0) {
      throw new RangeError(
        `bounce pool size ${bytes} is not accepted: use a positive multiple of ${HV_PAGE_SIZE}`,
      );
    }
    if (
      !Number.isSafeInteger(slotBytes) ||
      slotBytes <= 0 ||
      (HV_PAGE_SIZE % slotBytes !== 0 && slotBytes % HV_PAGE_SIZE !== 0) ||
      bytes % slotBytes !== 0
    ) {
      throw new RangeError(
        `bounce slot size ${slotBytes} is not accepted: use a divisor or multiple of ${HV_PAGE_SIZE} that divides the pool`,
      );
    }
    this.#memory = memory;
    this.#boundary = boundary;
    this.#forget = options.forgetBoundary ?? false;
    this.baseGpa = baseGpa;
    this.slotBytes = slotBytes;
    this.totalSlots = bytes / slotBytes;
    this.#used = new Uint8Array(this.totalSlots);
    this.#free = this.totalSlots;
  }

  /** Bytes in the pool. */
  get bytes(): number {
    return this.totalSlots * this.slotBytes;
  }

  /** Slots not in use. */
  get freeSlots(): number {
    return this.#free;
  }

  /** The pool's page numbers. */
  get pfns(): bigint[] {
    const first = this.baseGpa >> BigInt(HV_PAGE_SHIFT);
    return Array.from({ length: this.bytes / HV_PAGE_SIZE }, (_, i) => first + BigInt(i));
  }

  /** The GPA through which the pool is reached: base + boundary (or, the bug, the base itself). */
  get sharedBase(): bigint {
    return this.#forget ? this.baseGpa : this.baseGpa | this.#boundary;
  }

  /**
   * Makes the pool host-visible (Linux `swiotlb_update_mem_attributes`) and zeroes it through the
   * alias (the conversion scrambled it). A failed call is returned as is.
   */
  init(hc: GuestHypercalls): VisibilityChangeResult {
    const changed = setHostVisibility(hc, this.pfns, HostVisibility.READ_WRITE);
    if (changed.ok) this.#memory.write(this.sharedBase, new Uint8Array(this.bytes), SharedPlace.BOUNCE_POOL);
    return changed;
  }

  /**
   * `swiotlb_tbl_map_single`: takes free slots for `length` bytes and copies the private buffer
   * into them (always, whatever the direction — Linux ≥ 5.18 does so that the device never sees
   * stale slot data). Throws `PoolExhausted` when no run of slots is free.
   */
  map(privateGpa: bigint, length: number, direction: DmaDirection): BounceMapping {
    if (!DIRECTIONS.includes(direction)) {
      throw new RangeError(
        `DMA direction '${String(direction)}' is not accepted: use ${DIRECTIONS.join(', ')}`,
      );
    }
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw new RangeError(`bounce mapping length ${length} is not accepted: use a byte count ≥ 1`);
    }
    const slots = Math.ceil(length / this.slotBytes);
    const first = this.#findFree(slots);
    if (first < 0) throw new PoolExhausted(length, this.slotBytes, this.totalSlots, this.#free);
    this.#used.fill(1, first, first + slots);
    this.#free -= slots;
    this.#index = (first + slots) % this.totalSlots;
    const offset = BigInt(first * this.slotBytes);
    const mapping: BounceMapping = {
      id: this.#nextId++,
      privateGpa,
      length,
      direction,
      sharedGpa: this.sharedBase + offset,
      poolGpa: this.baseGpa + offset,
      firstSlot: first,
      slots,
    };
    this.#live.set(mapping.id, mapping);
    try {
      this.#bounce(mapping, 'to-shared');
    } catch (e) {
      this.#release(mapping);
      throw e;
    }
    return mapping;
  }

  /** `swiotlb_sync_single_for_device`: private → shared for to-device and bidirectional. */
  syncForDevice(mapping: BounceMapping): void {
    this.#checkLive(mapping, 'syncForDevice');
    if (mapping.direction !== 'from-device') this.#bounce(mapping, 'to-shared');
  }

  /** `swiotlb_sync_single_for_cpu`: shared → private for from-device and bidirectional. */
  syncForCpu(mapping: BounceMapping): void {
    this.#checkLive(mapping, 'syncForCpu');
    if (mapping.direction !== 'to-device') this.#bounce(mapping, 'to-private');
  }

  /** `swiotlb_tbl_unmap_single`: copies back what the device wrote, then frees the slots. */
  unmap(mapping: BounceMapping): void {
    this.#checkLive(mapping, 'unmap');
    try {
      if (mapping.direction !== 'to-device') this.#bounce(mapping, 'to-private');
    } finally {
      this.#release(mapping);
    }
  }

  #release(mapping: BounceMapping): void {
    this.#used.fill(0, mapping.firstSlot, mapping.firstSlot + mapping.slots);
    this.#free += mapping.slots;
    this.#live.delete(mapping.id);
  }

  #bounce(m: BounceMapping, way: 'to-shared' | 'to-private'): void {
    const place = SharedPlace.BOUNCE_POOL;
    if (way === 'to-shared')
      this.#memory.write(m.sharedGpa, this.#memory.read(m.privateGpa, m.length, place), place);
    else this.#memory.write(m.privateGpa, this.#memory.read(m.sharedGpa, m.length, place), place);
  }

  #checkLive(mapping: BounceMapping, what: string): void {
    if (this.#live.get(mapping.id) !== mapping) {
      throw new Error(
        `${SharedPlace.BOUNCE_POOL}: ${what} of mapping ${mapping.id}, which is not mapped (already unmapped?)`,
      );
    }
  }

  /** First slot of a free run of `n`, searching from the rotating index and wrapping; −1 if none. */
  #findFree(n: number): number {
    const total = this.totalSlots;
    if (n > this.#free) return -1;
    for (let k = 0; k < total; k++) {
      const start = (this.#index + k) % total;
      if (start + n > total) continue;
      let ok = true;
      for (let s = start; s < start + n; s++) {
        if (this.#used[s] !== 0) {
          ok = false;
          break;
        }
      }
      if (ok) return start;
    }
    return -1;
  }
}
