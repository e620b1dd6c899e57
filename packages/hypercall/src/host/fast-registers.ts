import { type GuestFaultValue, guestFaultValue } from '../guest-fault.js';
import { HvStatus, type HvStatusCode } from '../wire/status.js';
import type { CallEntry, CallPlan } from './call-plan.js';
import type { HypercallIo } from './calling-convention.js';
import type { CurrentCall } from './current-call.js';
import type { FeatureView } from './descriptor.js';
import type { Staging } from './staging.js';

/**
 * The registers of a fast call (spec 01 rule 11): input comes from RDX, R8, XMM0.lo, … into the
 * staging buffer, output goes from it to the slots after the input. Through `io.words` when the
 * register file has them (no BigInt per slot), else through the bigint slots.
 */
export class FastRegisters {
  readonly #features: FeatureView;
  readonly #staging: Staging;
  readonly #call: CurrentCall;

  constructor(features: FeatureView, staging: Staging, call: CurrentCall) {
    this.#features = features;
    this.#staging = staging;
    this.#call = call;
  }

  /**
   * Rules 11 and 13: copies register input into the staging buffer. Returns the status a rule
   * chose (INVALID_HYPERCALL_INPUT), the #UD of rule 13, or undefined when the call may run.
   */
  stage(io: HypercallIo, desc: CallEntry, plan: CallPlan): HvStatusCode | GuestFaultValue | undefined {
    const support = desc.fast;
    if (support === 'none') return this.#refuse(`${desc.name} has no fast form (spec 01 rule 11)`);
    const inLen = plan.inLen;
    const outLen = plan.outLen;
    if (inLen > 16 || outLen > 0) {
      if (support !== 'xmm')
        return this.#refuse(
          `${inLen} B in / ${outLen} B out need the XMM fast form, which ${desc.name} lacks`,
        );
      // Rule 13 (KVM, enforced CPUID): an XMM fast call without the XMM input feature is #UD.
      if (!this.#features.has('XmmFastHypercallInput')) {
        return guestFaultValue('UD', `XMM fast ${desc.name} while XMM fast hypercall input is not exposed`);
      }
      if (outLen > 0 && !this.#features.has('XmmFastHypercallOutput'))
        return this.#refuse('fast output while XmmFastHypercallOutput is not exposed (spec 01 rule 11)');
    }
    if (inLen > 8 * io.fastSlotCount || plan.firstOutputSlot + outLen / 8 > io.fastSlotCount)
      return this.#refuse(`${inLen} B in / ${outLen} B out do not fit the fast registers (spec 01 rule 11)`);
    const view = this.#staging.inWhole;
    const words = io.words;
    if (words) {
      for (let s = 0; s * 8 < inLen; s++) {
        view.setUint32(s * 8, words.slotWord(s, 0), true);
        view.setUint32(s * 8 + 4, words.slotWord(s, 1), true);
      }
    } else {
      for (let s = 0; s * 8 < inLen; s++) view.setBigUint64(s * 8, io.readFastSlot(s), true);
    }
    return undefined;
  }

  /** Copies output bytes `[from, to)` of the staging buffer to the slots from `firstSlot` on. */
  writeOutput(io: HypercallIo, firstSlot: number, from: number, to: number): void {
    const view = this.#staging.outWhole;
    const words = io.words;
    // Output sizes are multiples of 8 (checked at registration), so elements fill whole slots.
    for (let off = from; off < to; off += 8) {
      if (words) {
        words.setSlotWord(firstSlot + off / 8, 0, view.getUint32(off, true));
        words.setSlotWord(firstSlot + off / 8, 1, view.getUint32(off + 4, true));
      } else {
        io.writeFastSlot(firstSlot + off / 8, view.getBigUint64(off, true));
      }
    }
  }

  #refuse(reason: string): HvStatusCode {
    return this.#call.rule(HvStatus.INVALID_HYPERCALL_INPUT, reason);
  }
}
