import { HV_PAGE_SIZE, HV_PARAMETER_ALIGNMENT } from '../wire/page.js';
import { HvStatus, type HvStatusCode } from '../wire/status.js';
import type { HypercallIo } from './calling-convention.js';
import type { CurrentCall } from './current-call.js';
import { type ListCheck, type ListName, listReason } from './dispatch-rules.js';
import type { DispatcherEnvironment } from './dispatcher-environment.js';
import type { Staging } from './staging.js';

const TWO_32 = 2 ** 32;
const TWO_53 = 2 ** 53;
/** Input lists up to this size are copied word by word. */
const SMALL_LIST_BYTES = 64;

/** A GPA given as u32 halves, as a bigint (for the rare fault that names it). */
const joinGpa = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo);

/**
 * The parameter lists of a memory call (spec 01 rules 4–7): checks where RDX and R8 point, copies
 * the input list into the staging buffer, and writes back the output list. One path for every
 * register file: the GPAs are read as u32 halves (through `io.words`, or split from the bigint
 * registers), on which every check is exact for any `physicalAddressBits`.
 */
export class MemoryLists {
  readonly #env: DispatcherEnvironment;
  readonly #staging: Staging;
  readonly #call: CurrentCall;
  /** Rule 5 on halves: a GPA is at or above 2^bits exactly when hi ≥ `#hiLimit` or lo ≥ `#loLimit`. */
  readonly #hiLimit: number;
  readonly #loLimit: number;
  /** The halves `#split` produced. */
  #lo = 0;
  #hi = 0;
  /** The RAM offset of the output list of the call being dispatched (set by `stage`). */
  #outOffset = 0;

  constructor(env: DispatcherEnvironment, staging: Staging, call: CurrentCall) {
    this.#env = env;
    this.#staging = staging;
    this.#call = call;
    const bits = env.physicalAddressBits;
    this.#hiLimit = bits >= 32 ? 2 ** (bits - 32) : 1;
    this.#loLimit = bits >= 32 ? Number.POSITIVE_INFINITY : 2 ** bits;
  }

  /**
   * Rules 4–7 for the lists of `inLen` and `outLen` bytes at RDX and R8; copies the input list.
   * Returns the status a rule chose, or undefined when the call may run. A list in the GPA space
   * but not in RAM is a memory intercept: `GuestMemory.offsetOf` throws its MEMORY fault.
   */
  stage(vp: number, io: HypercallIo, inLen: number, outLen: number): HvStatusCode | undefined {
    // RDX and R8 are slots 0 and 1.
    const words = io.words;
    let inLo: number;
    let inHi: number;
    let outLo: number;
    let outHi: number;
    if (words !== undefined) {
      inLo = words.slotWord(0, 0);
      inHi = words.slotWord(0, 1);
      outLo = words.slotWord(1, 0);
      outHi = words.slotWord(1, 1);
    } else {
      this.#split(io.inputGpa);
      inLo = this.#lo;
      inHi = this.#hi;
      this.#split(io.outputGpa);
      outLo = this.#lo;
      outHi = this.#hi;
    }
    const bad = this.#check(inLo, inHi, inLen, 'input') ?? this.#check(outLo, outHi, outLen, 'output');
    if (bad !== undefined) return bad;
    // Exact below 2^53; a GPA above that is far past RAM, and rule 7 names it from its halves.
    const inGpa = inHi * TWO_32 + inLo;
    const outGpa = outHi * TWO_32 + outLo;
    const mem = this.#env.memory;
    // Rule 7: offsetOf raises the memory intercept of a list not in RAM.
    if (inLen > 0 && inGpa + inLen > mem.size) mem.offsetOf(joinGpa(inLo, inHi), inLen);
    if (outLen > 0 && outGpa + outLen > mem.size) mem.offsetOf(joinGpa(outLo, outHi), outLen);
    if (inLen > 0 && outLen > 0 && inGpa < outGpa + outLen && outGpa < inGpa + inLen) {
      this.#env.diagnose(
        'spec01.rule6.overlap',
        vp,
        `input list [0x${inGpa.toString(16)}, +${inLen}) overlaps output list [0x${outGpa.toString(16)}, +${outLen})`,
      );
    }
    this.#outOffset = outGpa;
    if (inLen > 0) this.#copyIn(inGpa, inLen);
    return undefined;
  }

  /** Copies output bytes `[from, to)` of the staging buffer to the output list. */
  writeOutput(from: number, to: number): void {
    this.#env.memory.bytes.set(this.#staging.outBytes.subarray(from, to), this.#outOffset + from);
  }

  /**
   * A 64-bit register value as u32 halves in `#lo`/`#hi`, exactly, and without a BigInt below 2^53
   * (where the number is exact). Registers hold u64 values; others are taken modulo 2^64.
   */
  #split(gpa: bigint): void {
    const n = Number(gpa);
    if (n >= 0 && n < TWO_53) {
      this.#lo = n % TWO_32;
      this.#hi = (n - this.#lo) / TWO_32;
    } else {
      const u = BigInt.asUintN(64, gpa);
      this.#lo = Number(u & 0xffff_ffffn);
      this.#hi = Number(u >> 32n);
    }
  }

  /** Rules 4–5: alignment, one page, inside the GPA space. Nothing is checked for an empty list. */
  #check(lo: number, hi: number, len: number, list: ListName): HvStatusCode | undefined {
    if (len === 0) return undefined;
    const pageOffset = lo & (HV_PAGE_SIZE - 1);
    if (pageOffset % HV_PARAMETER_ALIGNMENT !== 0) return this.#bad(list, 'align', len);
    if (pageOffset + len > HV_PAGE_SIZE) return this.#bad(list, 'cross', len);
    // The list stays in its page, so it ends below the limit exactly when its page starts below it.
    if (hi >= this.#hiLimit || lo >= this.#loLimit) return this.#bad(list, 'limit', len);
    return undefined;
  }

  /** Rules 4–5: INVALID_ALIGNMENT, with which check failed as the reason. */
  #bad(list: ListName, check: ListCheck, len: number): HvStatusCode {
    return this.#call.rule(
      HvStatus.INVALID_ALIGNMENT,
      listReason(list, check, len, this.#env.physicalAddressBits),
    );
  }

  /** Copies `len` bytes of RAM at `offset` into the input staging buffer. */
  #copyIn(offset: number, len: number): void {
    const mem = this.#env.memory;
    if (len <= SMALL_LIST_BYTES && len % 4 === 0 && offset % 4 === 0) {
      // Word by word: cheaper than a subarray view for the few bytes most calls take.
      const whole = this.#staging.inWhole;
      for (let o = 0; o < len; o += 4) whole.setUint32(o, mem.view.getUint32(offset + o, true), true);
    } else {
      this.#staging.inBytes.set(mem.bytes.subarray(offset, offset + len));
    }
  }
}
