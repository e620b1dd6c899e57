import type { GuestMemory } from '@pvlab/hypercall';
import { HV_PAGE_SIZE } from '@pvlab/hypercall';

/** What a private↔shared conversion leaves in the page. */
export type ConversionContents = 'scramble' | 'zero';

/** The accepted `ConversionContents` values. */
export const CONVERSION_CONTENTS: readonly ConversionContents[] = ['scramble', 'zero'];

/** The default seed of the scrambler (any u32 gives a reproducible run). */
export const DEFAULT_SCRAMBLE_SEED = 0x5eed_0005;

/**
 * What the other side sees after a conversion: on SNP/TDX the page is re-keyed, so the bytes
 * read back are ciphertext under the wrong key — garbage. Modelled as a deterministic stream
 * (mulberry32) so seeded runs stay reproducible.
 */
export class PageScrambler {
  #state: number;
  readonly mode: ConversionContents;

  constructor(mode: ConversionContents = 'scramble', seed = DEFAULT_SCRAMBLE_SEED) {
    this.mode = mode;
    this.#state = seed >>> 0;
  }

  /** The generator state (saved with the host state so a restored run continues the stream). */
  get state(): number {
    return this.#state;
  }

  /** Continues the stream from a saved `state` (snapshot restore). */
  restoreState(state: number): void {
    this.#state = state >>> 0;
  }

  /** Overwrites RAM page `pfn`. */
  convert(memory: GuestMemory, pfn: number): void {
    const base = pfn * HV_PAGE_SIZE;
    if (this.mode === 'zero') {
      memory.bytes.fill(0, base, base + HV_PAGE_SIZE);
      return;
    }
    const view = memory.view;
    for (let off = 0; off < HV_PAGE_SIZE; off += 4) view.setUint32(base + off, this.#next(), true);
  }

  #next(): number {
    this.#state = (this.#state + 0x6d2b_79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}
