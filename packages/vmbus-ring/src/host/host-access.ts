/**
 * How the VMBus host reaches guest memory. In an ordinary VM: RAM by GPA. In an isolation VM
 * (spec 05, the partition has the core's `HOST_MEMORY` port, which `@pvlab/isolation` provides):
 * only through the host's view — shared aliases (GPA ≥ boundary) of pages the guest made
 * host-visible; anything else is refused with the view's own error (which its provider has
 * already put in the trace), never silently.
 */
import { GuestPage, HV_PAGE_SIZE } from '@pvlab/hypercall';
import { HOST_MEMORY, type HostMemoryAccess, type HvPartition } from '@pvlab/hypercall/host';
import { VmbusPlace } from '../places.js';
import type { RingPageAccessor } from '../ring/ring-memory.js';
import type { GpaDirectRange } from '../wire/gpa-direct.js';
import { RingCorruptError } from '../wire/validate.js';

/** The partition's host-memory port (an isolation VM's host view), or `null` in an ordinary VM. */
export function hostIsolationOf(partition: HvPartition): HostMemoryAccess | null {
  return partition.extensionState(HOST_MEMORY) ?? null;
}

/** A host access the isolation rules refused: the host view's error (already in the trace). */
export class HostRefusal extends Error {
  override readonly name = 'HostRefusal';
  readonly gpa: bigint;
  constructor(gpa: bigint, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.gpa = gpa;
  }
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** The VMBus host's way into guest memory, looked up per access (the port may be installed later). */
export class HostGuestAccess {
  readonly #p: HvPartition;

  constructor(partition: HvPartition) {
    this.#p = partition;
  }

  /** The host-memory port, or `null` in an ordinary VM. */
  get isolation(): HostMemoryAccess | null {
    return hostIsolationOf(this.#p);
  }

  /**
   * The GPA through which the host reaches GPADL page `pfn`: spec 05 rule 15 (UNVERIFIED) —
   * Linux sends plain PFNs, so the host adds the boundary itself. Added, not OR-ed (Linux's
   * `pfn + (boundary >> 12)`): a PFN that already carries the boundary lands past the alias
   * window and is refused, instead of silently working.
   */
  gpadlPageGpa(pfn: bigint): bigint {
    const iso = this.isolation;
    return iso === null ? GuestPage.address(pfn) : GuestPage.address(pfn) + iso.boundary;
  }

  /** `null` when the host may `access` `[gpa, gpa + length)`, else the refusal (already reported to the view's hook). */
  refusal(gpa: bigint, length: number, access: 'read' | 'write', place: string): HostRefusal | null {
    const iso = this.isolation;
    if (iso === null) {
      return this.#p.memory.contains(gpa, length)
        ? null
        : new HostRefusal(gpa, `${place}: GPA ${hex(gpa)} (+${length} bytes) is not RAM`);
    }
    if (iso.allows(gpa, length, access)) return null;
    return this.#refuse(iso, gpa, length, access, place);
  }

  /** The RAM byte offset of an allowed host access; throws the `HostRefusal` otherwise. */
  offsetOf(gpa: bigint, length: number, access: 'read' | 'write', place: string): number {
    const refused = this.refusal(gpa, length, access, place);
    if (refused !== null) throw refused;
    const iso = this.isolation;
    return Number(iso === null ? gpa : gpa - iso.boundary);
  }

  /**
   * Reads a GPA-direct range (spec 04 type 9) page by page through `gpadlPageGpa` (plain PFNs;
   * an isolation VM's host adds the boundary and needs each page host-visible): the bytes, or the
   * first page's refusal (already reported to the view's hook). Nothing is read past a refusal.
   */
  readRange(range: GpaDirectRange): Uint8Array | HostRefusal {
    const out = new Uint8Array(range.length);
    const ram = this.#p.memory.bytes;
    let done = 0;
    let inPage = range.offset;
    for (const pfn of range.pfns) {
      if (done >= range.length) break;
      const n = Math.min(HV_PAGE_SIZE - inPage, range.length - done);
      const gpa = this.gpadlPageGpa(pfn) + BigInt(inPage);
      const refused = this.refusal(gpa, n, 'read', VmbusPlace.GPA_DIRECT);
      if (refused !== null) return refused;
      const at = this.offsetOf(gpa, n, 'read', VmbusPlace.GPA_DIRECT);
      out.set(ram.subarray(at, at + n), done);
      done += n;
      inPage = 0;
    }
    if (done < range.length) {
      return new HostRefusal(
        this.gpadlPageGpa(range.pfns[0] ?? 0n),
        `${VmbusPlace.GPA_DIRECT}: ${range.pfns.length} PFN(s) cover ${done} of ${range.length} bytes`,
      );
    }
    return out;
  }

  /** `true` when `gpa` names a RAM page for the host (its alias in an isolation VM); visibility is not asked. */
  reachesPage(gpa: bigint): boolean {
    if (!GuestPage.isAligned(gpa)) return false;
    const iso = this.isolation;
    if (iso === null) return this.#p.memory.contains(gpa, HV_PAGE_SIZE);
    return gpa >= iso.boundary && this.#p.memory.contains(gpa - iso.boundary, HV_PAGE_SIZE);
  }

  /**
   * The accessor of an isolation VM's ring over GPADL pages `pfns` (through their aliases), or
   * `null` in an ordinary VM (the caller keeps the raw fast path). Before every ring operation
   * the host must be allowed to write the control page and to `dataAccess` the data pages; a
   * refusal ends the ring (`access-refused`) and is handed to `onRefused` first.
   */
  ringAccessor(
    pfns: readonly bigint[],
    dataAccess: 'read' | 'write',
    onRefused: (refusal: HostRefusal) => void,
  ): { readonly accessor: RingPageAccessor; readonly gpas: readonly bigint[] } | null {
    const iso = this.isolation;
    if (iso === null) return null;
    const gpas = pfns.map((pfn) => GuestPage.address(pfn) + iso.boundary);
    const ram = this.#p.memory;
    const accessor: RingPageAccessor = {
      page: (gpa) => {
        if (!this.reachesPage(gpa)) {
          throw new RangeError(`${VmbusPlace.RING_BUFFER}: ${hex(gpa)} is not the alias of a RAM page`);
        }
        return new Uint8Array(ram.buffer, Number(gpa - iso.boundary), HV_PAGE_SIZE);
      },
      check: () => {
        for (let i = 0; i < gpas.length; i++) {
          const access = i === 0 ? 'write' : dataAccess;
          if (iso.allows(gpas[i]!, HV_PAGE_SIZE, access)) continue;
          const refusal = this.#refuse(iso, gpas[i]!, HV_PAGE_SIZE, access, VmbusPlace.RING_BUFFER);
          onRefused(refusal);
          throw new RingCorruptError('access-refused', refusal.message);
        }
      },
    };
    return { accessor, gpas };
  }

  /** Makes the view refuse (its error, reported to its hook) and wraps that error. */
  #refuse(
    iso: HostMemoryAccess,
    gpa: bigint,
    length: number,
    access: 'read' | 'write',
    place: string,
  ): HostRefusal {
    try {
      // Only reached when `allows` said no: the view throws (and tells its hook) without touching RAM.
      if (access === 'read') iso.read(gpa, length, place);
      else iso.write(gpa, new Uint8Array(length), place);
    } catch (error) {
      return new HostRefusal(gpa, error instanceof Error ? error.message : String(error), { cause: error });
    }
    return new HostRefusal(gpa, `${place}: host ${access} of GPA ${hex(gpa)} (+${length} bytes) refused`);
  }
}
