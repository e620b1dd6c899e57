/** What a TLB entry maps: one 4 KiB guest virtual page. */
export interface TlbEntry {
  /** Page-aligned GVA. */
  readonly gva: bigint;
  /** Page-aligned GPA it translates to. */
  readonly gpa: bigint;
  /** The address space (CR3 without flag bits) it was filled under; ignored for global entries. */
  readonly addressSpace: bigint;
  /** A global mapping: valid in every address space, kept by non-global flushes. */
  readonly global: boolean;
}

const PAGE_MASK = ~0xfffn;

/**
 * A VP's software TLB: cached GVA → GPA translations per address space, plus global ones. It
 * lets tests see exactly what a flush removed — and what it should not have.
 */
export class SoftwareTlb {
  // Keyed by `${addressSpace}:${gvaPage}` and by gvaPage for globals.
  readonly #local = new Map<string, TlbEntry>();
  readonly #global = new Map<bigint, TlbEntry>();

  /** Caches a translation of the page holding `gva` (as the MMU does on a walk). */
  fill(gva: bigint, gpa: bigint, opts: { addressSpace?: bigint; global?: boolean } = {}): void {
    const entry: TlbEntry = {
      gva: gva & PAGE_MASK,
      gpa: gpa & PAGE_MASK,
      addressSpace: opts.addressSpace ?? 0n,
      global: opts.global === true,
    };
    if (entry.global) this.#global.set(entry.gva, entry);
    else this.#local.set(key(entry.addressSpace, entry.gva), entry);
  }

  /** The cached GPA of `gva` (page GPA + offset) in `addressSpace`, or undefined on a miss. */
  lookup(gva: bigint, addressSpace = 0n): bigint | undefined {
    const page = gva & PAGE_MASK;
    const e = this.#global.get(page) ?? this.#local.get(key(addressSpace, page));
    return e === undefined ? undefined : e.gpa | (gva & 0xfffn);
  }

  /** Every cached entry (globals first), for tests and traces. */
  entries(): TlbEntry[] {
    return [...this.#global.values(), ...this.#local.values()];
  }

  /** Number of cached entries. */
  get size(): number {
    return this.#global.size + this.#local.size;
  }

  /**
   * Flushes whole address spaces: `addressSpace` (or every one when `'all'`); global entries go
   * too unless `nonGlobalOnly`. Returns the number of entries removed.
   */
  flushSpace(addressSpace: bigint | 'all', nonGlobalOnly: boolean): number {
    let removed = 0;
    for (const [k, e] of this.#local) {
      if (addressSpace === 'all' || e.addressSpace === addressSpace) {
        this.#local.delete(k);
        removed++;
      }
    }
    if (!nonGlobalOnly) {
      removed += this.#global.size;
      this.#global.clear();
    }
    return removed;
  }

  /**
   * Flushes `pages` pages of `pageBytes` from `gva` in `addressSpace` (or every one), global
   * entries included: a list flush removes the listed pages whatever their kind.
   */
  flushRange(gva: bigint, pages: number, pageBytes: number, addressSpace: bigint | 'all'): number {
    const start = gva & PAGE_MASK;
    const end = start + BigInt(pages) * BigInt(pageBytes);
    let removed = 0;
    // Walk the smaller side: the cached entries, not up to 2^30 pages of a large range.
    for (const [k, e] of this.#local) {
      if (e.gva >= start && e.gva < end && (addressSpace === 'all' || e.addressSpace === addressSpace)) {
        this.#local.delete(k);
        removed++;
      }
    }
    for (const [k, e] of this.#global) {
      if (e.gva >= start && e.gva < end) {
        this.#global.delete(k);
        removed++;
      }
    }
    return removed;
  }

  /** Removes everything (a full flush, e.g. KVM's flush-everything marker). */
  flushAll(): number {
    const removed = this.size;
    this.#local.clear();
    this.#global.clear();
    return removed;
  }
}

function key(addressSpace: bigint, gvaPage: bigint): string {
  return `${addressSpace.toString(16)}:${gvaPage.toString(16)}`;
}
