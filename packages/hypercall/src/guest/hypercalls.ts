import { encodeHypercallControl } from '../wire/control.js';
import { HV_FAST_REGISTER_SLOTS } from '../wire/fast.js';
import { HV_PAGE_SIZE } from '../wire/page.js';
import { decodeHypercallResult, type HypercallResultFields } from '../wire/result.js';
import { HvStatus } from '../wire/status.js';
import type { GuestContext } from './cpu.js';

/** Where a CPU's hypercall input and output lists live. */
export interface PerCpuHypercallPages {
  readonly inputGpa: bigint;
  readonly outputGpa: bigint;
  /** Bytes available at each of them. */
  readonly inputBytes: number;
  readonly outputBytes: number;
}

/**
 * How a CPU's input and output areas are laid out: a page each (`separate`), or one page split
 * in two non-overlapping halves, input first (`shared-page`).
 */
export type PerCpuPageLayout = 'separate' | 'shared-page';

/** Lays out per-CPU hypercall areas over pages the caller allocated (1 or 2 pages). */
export function perCpuHypercallPages(
  layout: PerCpuPageLayout,
  firstPage: bigint,
  secondPage?: bigint,
): PerCpuHypercallPages {
  if (layout === 'shared-page') {
    const half = HV_PAGE_SIZE / 2;
    return { inputGpa: firstPage, outputGpa: firstPage + BigInt(half), inputBytes: half, outputBytes: half };
  }
  if (secondPage === undefined)
    throw new RangeError("the 'separate' layout needs a second page for the output");
  return { inputGpa: firstPage, outputGpa: secondPage, inputBytes: HV_PAGE_SIZE, outputBytes: HV_PAGE_SIZE };
}

/** A hypercall's decoded result plus the raw RAX value. */
export interface HypercallOutcome extends HypercallResultFields {
  readonly raw: bigint;
}

function outcome(raw: bigint): HypercallOutcome {
  const r = decodeHypercallResult(raw);
  return { raw, status: r.status, repsCompleted: r.repsCompleted };
}

/**
 * A CPU's hypercall helpers, the way Linux issues them (include/asm-generic/mshyperv.h):
 * memory calls through the CPU's input/output areas, rep calls that loop on continuation,
 * and fast calls in registers.
 */
export class GuestHypercalls {
  readonly #ctx: GuestContext;
  readonly pages: PerCpuHypercallPages;

  constructor(ctx: GuestContext, pages: PerCpuHypercallPages) {
    this.#ctx = ctx;
    this.pages = pages;
  }

  /** Copies `bytes` into this CPU's input area at `offset`. */
  writeInput(bytes: Uint8Array, offset = 0): void {
    if (offset + bytes.length > this.pages.inputBytes) {
      throw new RangeError(
        `input of ${bytes.length} bytes at offset ${offset} overflows the ${this.pages.inputBytes}-byte input area`,
      );
    }
    this.#ctx.memory.write(this.pages.inputGpa + BigInt(offset), bytes);
  }

  /** Reads `length` bytes of this CPU's output area at `offset`. */
  readOutput(length: number, offset = 0): Uint8Array {
    if (offset + length > this.pages.outputBytes) {
      throw new RangeError(
        `output of ${length} bytes at offset ${offset} overflows the ${this.pages.outputBytes}-byte output area`,
      );
    }
    return this.#ctx.memory.read(this.pages.outputGpa + BigInt(offset), length);
  }

  /** `hv_do_hypercall`: one memory call with this CPU's areas (or the GPAs given). */
  call(control: bigint, inputGpa = this.pages.inputGpa, outputGpa = this.pages.outputGpa): HypercallOutcome {
    return outcome(this.#ctx.cpu.hypercall(control, inputGpa, outputGpa));
  }

  /**
   * `hv_do_rep_hypercall`: a rep call that re-issues with RepStartIndex = RepsCompleted while the
   * status is SUCCESS and reps remain (spec 01 rule 10). `invocations` counts the VMCALLs.
   */
  repCall(
    code: number,
    repCount: number,
    options: { variableHeaderSize?: number; inputGpa?: bigint; outputGpa?: bigint } = {},
  ): HypercallOutcome & { readonly invocations: number } {
    const inputGpa = options.inputGpa ?? this.pages.inputGpa;
    const outputGpa = options.outputGpa ?? this.pages.outputGpa;
    const variableHeaderSize = options.variableHeaderSize ?? 0;
    let start = 0;
    let invocations = 0;
    for (;;) {
      const control = encodeHypercallControl({
        callCode: code,
        variableHeaderSize,
        repCount,
        repStartIndex: start,
      });
      const r = outcome(this.#ctx.cpu.hypercall(control, inputGpa, outputGpa));
      invocations++;
      if (r.status !== HvStatus.SUCCESS || r.repsCompleted >= repCount) {
        return { raw: r.raw, status: r.status, repsCompleted: r.repsCompleted, invocations };
      }
      start = r.repsCompleted;
    }
  }

  /** `hv_do_fast_hypercall8`: a fast call with 8 bytes of input in RDX. */
  fast8(code: number, input: bigint): HypercallOutcome {
    return this.fast({ callCode: code }, [input]).result;
  }

  /** `hv_do_fast_hypercall16`: a fast call with 16 bytes of input in RDX and R8. */
  fast16(code: number, input1: bigint, input2: bigint): HypercallOutcome {
    return this.fast({ callCode: code }, [input1, input2]).result;
  }

  /**
   * A fast call (register or XMM form) with `slots` as RDX, R8, XMM0.lo, …; returns the result
   * and the output slots.
   */
  fast(
    control: { callCode: number; repCount?: number; repStartIndex?: number; variableHeaderSize?: number },
    slots: readonly bigint[],
  ): { result: HypercallOutcome; output: bigint[] } {
    // Built field by field: an object spread here costs more than the whole hypercall.
    const c = encodeHypercallControl({
      callCode: control.callCode,
      fast: true,
      repCount: control.repCount ?? 0,
      repStartIndex: control.repStartIndex ?? 0,
      variableHeaderSize: control.variableHeaderSize ?? 0,
    });
    const padded =
      slots.length >= HV_FAST_REGISTER_SLOTS ? slots : slots.length === 1 ? [slots[0]!, 0n] : [0n, 0n];
    const r = this.#ctx.cpu.fastHypercall(c, padded);
    return { result: outcome(r.result), output: r.output };
  }
}
