/**
 * HV_VP_SET — spec 02 "HV_VP_SET": a Format, a ValidBanksMask and one u64 bank per set bit
 * (bank b covers VPs 64b..64b+63), up to 64 banks = 4096 VPs.
 */
import { defineByteStruct } from '@pvlab/hypercall';

/** HV_VP_SET formats (HV_GENERIC_SET_*). */
export const HvGenericSetFormat = { SPARSE_4K: 0, ALL: 1 } as const;
/** VPs per bank. */
export const HV_VP_SET_BANK_SIZE = 64;
/** Banks in a set (4096 VPs). */
export const HV_VP_SET_MAX_BANKS = 64;
/** The most VP indexes a set can name. */
export const HV_MAX_VP_INDEX = HV_VP_SET_BANK_SIZE * HV_VP_SET_MAX_BANKS - 1;

/**
 * The fixed part of an HV_VP_SET: Format, ValidBanksMask. The banks follow it, one u64 each (the
 * Ex calls' variable header).
 */
export const HvVpSetHeader = defineByteStruct('HV_VP_SET', [
  { name: 'format', offset: 0, type: 'u64' },
  { name: 'validBanksMask', offset: 8, type: 'u64' },
] as const);
/** One bank of an HV_VP_SET (an element of the Ex calls' variable header): a u64, bit k = VP 64b + k. */
export const HvVpSetBank = defineByteStruct('HV_VP_SET bank', [
  { name: 'contents', offset: 0, type: 'u64' },
] as const);
/** Bytes before the banks: Format (u64) and ValidBanksMask (u64). */
export const HV_VP_SET_HEADER_BYTES = HvVpSetHeader.size;
/** Bytes of one bank. */
export const HV_VP_SET_BANK_BYTES = HvVpSetBank.size;

const { format, validBanksMask: validBanksMaskField } = HvVpSetHeader.accessors;
const { contents } = HvVpSetBank.accessors;

/** Byte offset of bank element `k` of the set whose header is at `offset`. */
export function vpSetBankOffset(offset: number, k: number): number {
  return offset + HV_VP_SET_HEADER_BYTES + HV_VP_SET_BANK_BYTES * k;
}

/**
 * A set of VP indexes 0..4095 held as a bitmap (two u32 words per bank), so building, testing and
 * iterating a set of any size allocates nothing per VP.
 */
export class VpIndexSet {
  readonly #words = new Uint32Array(HV_VP_SET_MAX_BANKS * 2);

  /** A set of the given VP indexes. */
  static of(...vps: number[]): VpIndexSet {
    const s = new VpIndexSet();
    for (const vp of vps) s.add(vp);
    return s;
  }

  #check(vp: number): void {
    if (!Number.isInteger(vp) || vp < 0 || vp > HV_MAX_VP_INDEX) {
      throw new RangeError(`VP index ${vp} is outside an HV_VP_SET (0..${HV_MAX_VP_INDEX})`);
    }
  }

  add(vp: number): this {
    this.#check(vp);
    this.#words[vp >>> 5]! |= 1 << (vp & 31);
    return this;
  }

  delete(vp: number): this {
    this.#check(vp);
    this.#words[vp >>> 5]! &= ~(1 << (vp & 31));
    return this;
  }

  has(vp: number): boolean {
    if (!Number.isInteger(vp) || vp < 0 || vp > HV_MAX_VP_INDEX) return false;
    return ((this.#words[vp >>> 5]! >>> (vp & 31)) & 1) === 1;
  }

  clear(): this {
    this.#words.fill(0);
    return this;
  }

  /** Number of VPs in the set. */
  get size(): number {
    let n = 0;
    for (const w of this.#words) n += popcount32(w);
    return n;
  }

  /** Calls `fn` for every VP index in ascending order. */
  forEach(fn: (vp: number) => void): void {
    for (let i = 0; i < this.#words.length; i++) {
      let w = this.#words[i]!;
      while (w !== 0) {
        const low = w & -w;
        fn(i * 32 + 31 - Math.clz32(low));
        w = (w & ~low) >>> 0;
      }
    }
  }

  /** The VP indexes, ascending. */
  toArray(): number[] {
    const out: number[] = [];
    this.forEach((vp) => {
      out.push(vp);
    });
    return out;
  }

  /** The highest VP index in the set, or -1 when empty. */
  highest(): number {
    for (let i = this.#words.length - 1; i >= 0; i--) {
      const w = this.#words[i]!;
      if (w !== 0) return i * 32 + 31 - Math.clz32(w);
    }
    return -1;
  }

  /** Bank `b` as a u64 (bit k = VP 64b + k). */
  bank(b: number): bigint {
    return (BigInt(this.#words[2 * b + 1]!) << 32n) | BigInt(this.#words[2 * b]!);
  }

  /** Sets bank `b` from a u64 (ORed into the set). */
  orBank(b: number, bits: bigint): void {
    this.#words[2 * b]! |= Number(bits & 0xffff_ffffn);
    this.#words[2 * b + 1]! |= Number((bits >> 32n) & 0xffff_ffffn);
  }

  /** `true` when bank `b` has no VP. */
  bankIsEmpty(b: number): boolean {
    return this.#words[2 * b] === 0 && this.#words[2 * b + 1] === 0;
  }
}

function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x5555_5555);
  v = (v & 0x3333_3333) + ((v >>> 2) & 0x3333_3333);
  return (((v + (v >>> 4)) & 0x0f0f_0f0f) * 0x0101_0101) >>> 24;
}

/** Set bits of a u64 (the bank count a ValidBanksMask implies). */
export function popcount64(x: bigint): number {
  return popcount32(Number(x & 0xffff_ffffn)) + popcount32(Number((x >> 32n) & 0xffff_ffffn));
}

/**
 * How banks are chosen when encoding: `compact` writes only non-empty banks; `dense` writes every
 * bank from 0 to the highest non-empty one, as Linux's `cpumask_to_vpset` does (empty banks included).
 */
export type VpSetBankLayout = 'compact' | 'dense';

/** Bytes an encoded sparse set with `banks` banks takes. */
export function vpSetBytes(banks: number): number {
  return vpSetBankOffset(0, banks);
}

/**
 * Writes a sparse HV_VP_SET at `offset`: Format 0, ValidBanksMask, then the banks in ascending
 * order. Returns the bank count (the Ex calls' VariableHeaderSize). An empty set writes one
 * all-zero bank in `dense` layout (as Linux does) and no bank in `compact` layout.
 */
export function writeSparseVpSet(
  view: DataView,
  offset: number,
  set: VpIndexSet,
  layout: VpSetBankLayout = 'compact',
): number {
  let mask = 0n;
  let banks = 0;
  const highestBank = set.highest() < 0 ? (layout === 'dense' ? 0 : -1) : set.highest() >>> 6;
  for (let b = 0; b <= highestBank; b++) {
    if (layout === 'compact' && set.bankIsEmpty(b)) continue;
    mask |= 1n << BigInt(b);
    contents.set(view, set.bank(b), vpSetBankOffset(offset, banks));
    banks++;
  }
  format.set(view, BigInt(HvGenericSetFormat.SPARSE_4K), offset);
  validBanksMaskField.set(view, mask, offset);
  return banks;
}

/** Writes HV_GENERIC_SET_ALL: Format 1, ValidBanksMask 0, no banks. Returns 0 (banks). */
export function writeAllVpSet(view: DataView, offset: number): number {
  format.set(view, BigInt(HvGenericSetFormat.ALL), offset);
  validBanksMaskField.set(view, 0n, offset);
  return 0;
}

/** The decoded header of a set. */
export interface VpSetHeader {
  readonly format: bigint;
  readonly validBanksMask: bigint;
  /** popcount(ValidBanksMask): the banks that follow the header. */
  readonly banks: number;
}

/** Reads Format and ValidBanksMask at `offset`. */
export function readVpSetHeader(view: DataView, offset: number): VpSetHeader {
  const validBanksMask = validBanksMaskField.get(view, offset);
  return { format: format.get(view, offset), validBanksMask, banks: popcount64(validBanksMask) };
}

/**
 * Adds the VPs of the sparse set at `offset` (whose banks follow the header) to `into`.
 * The caller has checked that `view` holds `popcount(mask)` banks.
 */
export function readSparseVpSet(
  view: DataView,
  offset: number,
  validBanksMask: bigint,
  into: VpIndexSet,
): VpIndexSet {
  let k = 0;
  for (let b = 0; b < HV_VP_SET_MAX_BANKS; b++) {
    if (((validBanksMask >> BigInt(b)) & 1n) === 0n) continue;
    into.orBank(b, contents.get(view, vpSetBankOffset(offset, k)));
    k++;
  }
  return into;
}

/**
 * `true` when VP `vp` is in the sparse set at `offset`, found without decoding the set: bank
 * vp/64 must be valid, and its contents are element popcount(mask & ((1 << bank) − 1)).
 */
export function sparseVpSetHas(view: DataView, offset: number, validBanksMask: bigint, vp: number): boolean {
  const bank = vp >>> 6;
  if (bank >= HV_VP_SET_MAX_BANKS || ((validBanksMask >> BigInt(bank)) & 1n) === 0n) return false;
  const element = popcount64(validBanksMask & ((1n << BigInt(bank)) - 1n));
  const bits = contents.get(view, vpSetBankOffset(offset, element));
  return ((bits >> BigInt(vp & 63)) & 1n) === 1n;
}
