import { GuestFault } from '../guest-fault.js';
import type { GuestMemory } from '../memory.js';
import { hvCallName } from '../wire/call-code.js';
import {
  decodeHypercallControlWords,
  HV_HYPERCALL_REFUSED_WORDS,
  type HypercallControlFields,
} from '../wire/control.js';
import { HV_PAGE_SIZE, HV_PARAMETER_ALIGNMENT } from '../wire/page.js';
import { encodeHypercallResult } from '../wire/result.js';
import { HvStatus, type HvStatusCode } from '../wire/status.js';
import { buildDetail, type HypercallDetail } from './call-detail.js';
import { CallEntry, CallPlan, type ReusableCall } from './call-plan.js';
import type { HypercallIo } from './calling-convention.js';
import type { FeatureView, HypercallDescriptor, RepHypercallCall } from './descriptor.js';
import { errorReason, type ListName, listReason, validateDescriptor, viewOf } from './dispatch-rules.js';
import { HostInvariantError } from './invariant.js';
import { HypercallSuspended } from './suspend.js';

export { HostInvariantError } from './invariant.js';

/** What the dispatcher needs from its partition. */
export interface DispatcherEnvironment {
  readonly memory: GuestMemory;
  readonly features: FeatureView;
  /** GPAs at or above 2^bits are outside the partition's GPA space. */
  readonly physicalAddressBits: number;
  /** Reps one invocation may process before it is time-sliced (spec 01 rule 8). */
  readonly maxRepsPerCall: number;
  diagnose(rule: string, vp: number, message: string): void;
}

/** The decoded, validated facts of one call, as observers and traces see them. */
export interface HypercallRecord {
  readonly vp: number;
  readonly control: bigint;
  readonly callCode: number;
  readonly name: string;
  readonly fast: boolean;
  readonly repCount: number;
  readonly repStartIndex: number;
  readonly status: HvStatusCode;
  readonly repsCompleted: number;
  /** Set when the handler suspended the caller (no status was written; see `HypercallSuspended`). */
  readonly suspendedOn?: number;
  /** What the call was (GPAs, decoded input and output, reason): only while details are recorded. */
  readonly detail?: HypercallDetail;
}

const [RSVD_LO, RSVD_HI] = HV_HYPERCALL_REFUSED_WORDS;

const statusResult = (status: HvStatusCode): bigint => encodeHypercallResult(status, 0);
const PAGE_OFFSET_MASK = BigInt(HV_PAGE_SIZE - 1);
/** Input lists up to this size are copied word by word. */
const SMALL_LIST_BYTES = 64;
/** Every call code the TLFS defines is below this. */
const DIRECT_CODES = 0x200;

/**
 * Validates every generic rule of spec 01 (rules 1–6, 11–13) in one place, copies the input,
 * runs the descriptor's handler and writes back only what completed. Handlers see well-formed
 * input only. Guest-controlled input never throws here: it gets a status or a GuestFault.
 */
export class HypercallDispatcher {
  readonly #env: DispatcherEnvironment;
  readonly #table = new Map<number, CallEntry>();
  /** The calls with codes below `DIRECT_CODES` by code: an array index per call, not a hash lookup. */
  readonly #direct = new Array<CallEntry | undefined>(DIRECT_CODES).fill(undefined);
  // Input and output are staged here: one parameter list is at most one page.
  readonly #inBuf = new ArrayBuffer(HV_PAGE_SIZE);
  readonly #outBuf = new ArrayBuffer(HV_PAGE_SIZE);
  readonly #inBytes = new Uint8Array(this.#inBuf);
  readonly #outBytes = new Uint8Array(this.#outBuf);
  // Handlers get views of exactly the list's length; one per length, made once.
  readonly #inViews: (DataView | undefined)[] = [];
  readonly #outViews: (DataView | undefined)[] = [];
  readonly #inWhole = new DataView(this.#inBuf);
  readonly #outWhole = new DataView(this.#outBuf);
  readonly #gpaLimit: bigint;
  readonly #gpaLimitNumber: number;
  /** GPAs fit a number exactly wherever rule 5 lets them through (physicalAddressBits ≤ 52). */
  readonly #numericGpas: boolean;
  /** The RAM offset of the output list of the memory call being dispatched (`#stageMemoryInput`). */
  #outOffset = 0;
  #observer: ((record: HypercallRecord) => void) | undefined;
  /** Reps the call being dispatched completed (set by `#run`). */
  #reps = 0;
  /** The call being handled, for `#diagnose` and `#suspend`. */
  #curVp = -1;
  #curDesc: CallEntry | undefined;
  /** Details (`recordDetails`): on or off, the last call's, and why its status is not SUCCESS. */
  #detailOn = false;
  #lastDetail: HypercallDetail | undefined;
  #reason: string | undefined;
  /** A generic rule refused the call before its input was staged. */
  #ruleFailed = false;
  readonly #fail = (status: HvStatusCode, reason: string): HvStatusCode => {
    this.#reason = reason;
    return status;
  };
  readonly #diagnose = (rule: string, message: string): void => {
    this.#env.diagnose(rule, this.#curVp, message);
  };
  readonly #suspend = (waitingOn: number, reason: string): never => {
    const vp = this.#curVp;
    const desc = this.#curDesc;
    if (!Number.isInteger(waitingOn) || waitingOn < 0) {
      throw new HostInvariantError(
        `${desc?.name} suspended VP ${vp} on VP ${waitingOn}, which is no VP index`,
      );
    }
    throw new HypercallSuspended(vp, waitingOn, reason);
  };

  constructor(env: DispatcherEnvironment) {
    this.#env = env;
    this.#gpaLimit = 1n << BigInt(env.physicalAddressBits);
    this.#gpaLimitNumber = 2 ** env.physicalAddressBits;
    this.#numericGpas = env.physicalAddressBits <= 52;
  }

  /** Adds a hypercall. A second descriptor for the same code is a host bug. */
  register(descriptor: HypercallDescriptor): void {
    validateDescriptor(descriptor);
    const existing = this.#table.get(descriptor.code);
    if (existing) {
      throw new HostInvariantError(
        `call code 0x${descriptor.code.toString(16)} is already registered as ${existing.name}`,
      );
    }
    const entry = new CallEntry(descriptor);
    this.#table.set(descriptor.code, entry);
    if (descriptor.code < DIRECT_CODES) this.#direct[descriptor.code] = entry;
  }

  /** The descriptor of a call code, if registered. */
  descriptor(code: number): HypercallDescriptor | undefined {
    return this.#table.get(code)?.descriptor;
  }

  /** Every registered descriptor, by call code. */
  descriptors(): HypercallDescriptor[] {
    return [...this.#table.values()].map((e) => e.descriptor).sort((a, b) => a.code - b.code);
  }

  /** Sees every completed call (after its status is known). One observer; `undefined` removes it. */
  observe(observer: ((record: HypercallRecord) => void) | undefined): void {
    this.#observer = observer;
  }

  /**
   * Records what each call was (`HypercallDetail`: GPAs, decoded input/output, why a status is
   * not SUCCESS) for observers and `takeDetail`. Off by default: decoding costs more than the call.
   */
  recordDetails(on: boolean): void {
    this.#detailOn = on;
    this.#lastDetail = undefined;
    this.#reason = undefined;
    this.#ruleFailed = false;
  }

  get recordsDetails(): boolean {
    return this.#detailOn;
  }

  /** The detail of the last call dispatched (also one that threw), once; then undefined. */
  takeDetail(): HypercallDetail | undefined {
    const d = this.#lastDetail;
    this.#lastDetail = undefined;
    return d;
  }

  /** Runs one hypercall for VP `vp` and returns the TLFS result value. */
  dispatch(vp: number, io: HypercallIo): bigint {
    io.fastOutputFirstSlot = 0;
    io.fastOutputSlots = 0;
    // The word view spares a BigInt per field on the hot path; the control value itself is only
    // read (as a bigint) for the rare messages and observers below.
    const words = io.words;
    const lo = words ? words.controlLo() : Number(io.control & 0xffff_ffffn);
    const hi = words ? words.controlHi() : Number((io.control >> 32n) & 0xffff_ffffn);
    const code = lo & 0xffff;

    let status: HvStatusCode;
    let reps = 0;
    let plan: CallPlan | undefined;
    const desc = code < DIRECT_CODES ? this.#direct[code] : this.#table.get(code);
    // Spec 03 rule 3: calls such as VtlCall take no control fields at all; anything else is #UD.
    if ((lo >>> 16 !== 0 || hi !== 0) && desc !== undefined && desc.exactControl) {
      throw new GuestFault(
        'UD',
        `${desc.name} with control 0x${io.control.toString(16)}: only the bare call code 0x${code.toString(16)} is accepted`,
      );
    }
    // Rule 1: reserved bits (KVM counts Nested as reserved; pvlab models no nested hypervisor).
    if ((lo & RSVD_LO) !== 0 || (hi & RSVD_HI) !== 0) {
      status = HvStatus.INVALID_HYPERCALL_INPUT;
    } else if (desc === undefined) {
      status = HvStatus.INVALID_HYPERCALL_CODE;
    } else if (desc.gate !== undefined && !desc.gate.isOpen(this.#env.features)) {
      status = HvStatus.ACCESS_DENIED;
    } else {
      plan = desc.plan;
      if (plan === undefined || plan.lo !== lo || plan.hi !== hi) {
        plan = new CallPlan(desc, lo, hi);
        desc.plan = plan;
      }
      try {
        status = this.#run(vp, io, desc, plan);
      } catch (e) {
        if (this.#detailOn) this.#describe(io, lo, hi, desc, plan, 0, HvStatus.SUCCESS, e);
        if (e instanceof HypercallSuspended)
          this.#observeSuspension(vp, io.control, desc.name, plan.fields, e);
        throw e;
      }
      reps = this.#reps;
    }
    if (this.#detailOn) this.#describe(io, lo, hi, desc, plan, reps, status, undefined);
    const observer = this.#observer;
    if (observer) {
      const c = plan?.fields ?? decodeHypercallControlWords(lo, hi);
      observer({
        vp,
        control: io.control,
        callCode: code,
        name: desc?.name ?? hvCallName(code),
        fast: c.fast,
        repCount: c.repCount,
        repStartIndex: c.repStartIndex,
        status,
        repsCompleted: reps,
        ...(this.#lastDetail ? { detail: this.#lastDetail } : {}),
      });
    }
    return reps === 0 ? statusResult(status) : encodeHypercallResult(status, reps);
  }

  #observeSuspension(
    vp: number,
    control: bigint,
    name: string,
    c: HypercallControlFields,
    e: HypercallSuspended,
  ): void {
    this.#observer?.({
      vp,
      control,
      callCode: c.callCode,
      name,
      fast: c.fast,
      repCount: c.repCount,
      repStartIndex: c.repStartIndex,
      status: HvStatus.SUCCESS,
      repsCompleted: 0,
      suspendedOn: e.waitingOn,
      ...(this.#lastDetail ? { detail: this.#lastDetail } : {}),
    });
  }

  /** Sets the reason of a status a generic rule chose; returns the status. */
  #rule(status: HvStatusCode, reason: string): HvStatusCode {
    this.#reason = reason;
    this.#ruleFailed = true;
    return status;
  }

  /**
   * Records the detail of the call just dispatched (details on), `thrown` what it threw if it did.
   * The checks `dispatch` makes before the plan and rules 2–3 are re-derived here, keeping their
   * reasons off the hot path; later rules set `#reason` as they fail.
   */
  #describe(
    io: HypercallIo,
    lo: number,
    hi: number,
    desc: CallEntry | undefined,
    plan: CallPlan | undefined,
    reps: number,
    status: HvStatusCode,
    thrown: unknown,
  ): void {
    let reason = thrown === undefined ? this.#reason : errorReason(thrown);
    // Only a suspended call got as far as its handler, so only its input was staged.
    let staged = thrown === undefined ? !this.#ruleFailed : thrown instanceof HypercallSuspended;
    if (plan === undefined) {
      staged = false;
      reason =
        (lo & RSVD_LO) !== 0 || (hi & RSVD_HI) !== 0
          ? 'reserved or Nested control bits set (spec 01 rule 1)'
          : desc === undefined
            ? 'no hypercall has this call code'
            : `not exposed: ${desc.gate?.description}`;
    } else if (plan.ruleStatus >= 0) {
      staged = false;
      reason = plan.ruleReason;
    }
    const c = plan?.fields;
    const fast = c?.fast ?? (lo & 0x1_0000) !== 0;
    this.#lastDetail = buildDetail({
      inputGpa: fast || plan?.inLen === 0 ? undefined : io.inputGpa,
      outputGpa: fast || plan?.outLen === 0 ? undefined : io.outputGpa,
      decoder: desc?.descriptor.describe,
      view:
        staged && c !== undefined && plan !== undefined
          ? {
              control: c,
              input: viewOf(this.#inViews, this.#inBuf, plan.inLen),
              variableHeaderBytes: plan.varBytes,
              output: viewOf(this.#outViews, this.#outBuf, plan.outLen),
              status,
              repsCompleted: reps,
            }
          : undefined,
      outputWritten:
        thrown === undefined &&
        staged &&
        plan !== undefined &&
        (desc?.rep ? reps > plan.fields.repStartIndex : status === HvStatus.SUCCESS) &&
        plan.outLen > 0,
      status,
      reason,
    });
    this.#reason = undefined;
    this.#ruleFailed = false;
  }

  /** Runs a call that passed rule 1 and its gate; returns its status, reps completed in `#reps`. */
  #run(vp: number, io: HypercallIo, desc: CallEntry, plan: CallPlan): HvStatusCode {
    this.#reps = 0;
    if (plan.ruleStatus >= 0) return plan.ruleStatus as HvStatusCode;
    const c = plan.fields;
    const inLen = plan.inLen;
    const outLen = plan.outLen;

    let outputSlot = -1;
    if (c.fast) {
      if (!this.#stageFastInput(io, desc, plan)) return HvStatus.INVALID_HYPERCALL_INPUT;
      outputSlot = plan.firstOutputSlot;
    } else {
      const failed = this.#stageMemoryInput(vp, io, inLen, outLen);
      if (failed !== undefined) return failed;
    }
    if (outLen > 0) this.#outBytes.fill(0, 0, outLen);

    const env = this.#env;
    // The call's diagnose/suspend are made once and read the call in progress from here (handlers
    // run synchronously and never dispatch), so a call allocates no closures.
    this.#curVp = vp;
    this.#curDesc = desc;
    let status: HvStatusCode;
    let writeFrom = 0;
    let writeTo = 0;
    if (desc.simpleHandler !== undefined) {
      let call = plan.simpleCall;
      if (call === undefined) {
        call = this.#newCall(vp, plan);
        plan.simpleCall = call;
      }
      call.vp = vp;
      status = desc.simpleHandler(call);
      if (status === HvStatus.SUCCESS) writeTo = outLen;
    } else {
      const repEnd = Math.min(c.repCount, c.repStartIndex + env.maxRepsPerCall);
      const header = desc.fixedInputBytes + plan.varBytes;
      const inEl = desc.inputElementBytes;
      const outEl = desc.outputElementBytes;
      // Spelled out, not spread from `#newCall`: a spread object is slow to read in the handler's loop.
      const call: RepHypercallCall = {
        vp,
        control: c,
        input: viewOf(this.#inViews, this.#inBuf, inLen),
        variableHeaderBytes: plan.varBytes,
        output: viewOf(this.#outViews, this.#outBuf, outLen),
        diagnose: this.#diagnose,
        suspend: this.#suspend,
        fail: this.#fail,
        repStart: c.repStartIndex,
        repEnd,
        inputElementOffset: (i) => header + i * inEl,
        outputElementOffset: (i) => i * outEl,
      };
      const outcome = desc.repHandler!(call);
      if (
        !Number.isInteger(outcome.repsCompleted) ||
        outcome.repsCompleted < c.repStartIndex ||
        outcome.repsCompleted > repEnd ||
        (outcome.status === HvStatus.SUCCESS && outcome.repsCompleted === c.repStartIndex)
      ) {
        throw new HostInvariantError(
          `${desc.name} handler returned repsCompleted=${outcome.repsCompleted} status=0x${outcome.status.toString(16)} ` +
            `for reps [${c.repStartIndex}, ${repEnd}) of ${c.repCount} on VP ${vp}: it must complete at least one rep on success and stay in range`,
        );
      }
      writeFrom = c.repStartIndex * outEl;
      writeTo = outcome.repsCompleted * outEl;
      status = outcome.status;
      this.#reps = outcome.repsCompleted;
    }
    if (c.fast && writeTo > 0) {
      io.fastOutputFirstSlot = outputSlot;
      io.fastOutputSlots = writeTo / 8;
    }
    if (writeTo > writeFrom) {
      if (c.fast) this.#writeFastOutput(io, outputSlot, writeFrom, writeTo);
      else
        this.#env.memory.bytes.set(this.#outBytes.subarray(writeFrom, writeTo), this.#outOffset + writeFrom);
    }
    return status;
  }

  /** What every handler sees of a call with this plan, made for VP `vp`. */
  #newCall(vp: number, plan: CallPlan): ReusableCall {
    return {
      vp,
      control: plan.fields,
      input: viewOf(this.#inViews, this.#inBuf, plan.inLen),
      variableHeaderBytes: plan.varBytes,
      output: viewOf(this.#outViews, this.#outBuf, plan.outLen),
      diagnose: this.#diagnose,
      suspend: this.#suspend,
      fail: this.#fail,
    };
  }

  /** Rule 11: copies register input into the staging buffer; `false` for HV_STATUS_INVALID_HYPERCALL_INPUT. */
  #stageFastInput(io: HypercallIo, desc: CallEntry, plan: CallPlan): boolean {
    const support = desc.fast;
    if (support === 'none') return this.#noFast(`${desc.name} has no fast form (spec 01 rule 11)`);
    const inLen = plan.inLen;
    const outLen = plan.outLen;
    if (inLen > 16 || outLen > 0) {
      if (support !== 'xmm')
        return this.#noFast(
          `${inLen} B in / ${outLen} B out need the XMM fast form, which ${desc.name} lacks`,
        );
      // Rule 13 (KVM, enforced CPUID): an XMM fast call without the XMM input feature is #UD.
      if (!this.#env.features.has('XmmFastHypercallInput')) {
        throw new GuestFault('UD', `XMM fast ${desc.name} while XMM fast hypercall input is not exposed`);
      }
      if (outLen > 0 && !this.#env.features.has('XmmFastHypercallOutput'))
        return this.#noFast('fast output while XmmFastHypercallOutput is not exposed (spec 01 rule 11)');
    }
    if (inLen > 8 * io.fastSlotCount || plan.firstOutputSlot + outLen / 8 > io.fastSlotCount)
      return this.#noFast(`${inLen} B in / ${outLen} B out do not fit the fast registers (spec 01 rule 11)`);
    const view = this.#inWhole;
    const words = io.words;
    if (words) {
      for (let s = 0; s * 8 < inLen; s++) {
        view.setUint32(s * 8, words.slotWord(s, 0), true);
        view.setUint32(s * 8 + 4, words.slotWord(s, 1), true);
      }
    } else {
      for (let s = 0; s * 8 < inLen; s++) view.setBigUint64(s * 8, io.readFastSlot(s), true);
    }
    return true;
  }

  #noFast(reason: string): false {
    this.#rule(HvStatus.INVALID_HYPERCALL_INPUT, reason);
    return false;
  }

  #writeFastOutput(io: HypercallIo, firstSlot: number, from: number, to: number): void {
    const view = this.#outWhole;
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

  /**
   * Rules 4–7 for memory calls; copies the input list into the staging buffer and leaves the
   * output list's RAM offset in `#outOffset`.
   */
  #stageMemoryInput(vp: number, io: HypercallIo, inLen: number, outLen: number): HvStatusCode | undefined {
    const words = io.words;
    if (words === undefined || !this.#numericGpas) return this.#stageMemoryInputBig(vp, io, inLen, outLen);
    // RDX and R8 (slots 0 and 1) hold the GPAs. As numbers they are exact below 2^53, and rule 5
    // refuses any GPA at or above 2^physicalAddressBits (≤ 52 here) before it is used.
    const inLo = words.slotWord(0, 0);
    const inHi = words.slotWord(0, 1);
    const outLo = words.slotWord(1, 0);
    const outHi = words.slotWord(1, 1);
    const bad =
      this.#checkListWords(inLo, inHi, inLen, 'input') ??
      this.#checkListWords(outLo, outHi, outLen, 'output');
    if (bad !== undefined) return bad;
    const inGpa = inHi * 2 ** 32 + inLo;
    const outGpa = outHi * 2 ** 32 + outLo;
    const mem = this.#env.memory;
    // Rule 7: a list in GPA space but not in RAM is a memory intercept (offsetOf raises it).
    if (inLen > 0 && inGpa + inLen > mem.size) mem.offsetOf(BigInt(inGpa), inLen);
    if (outLen > 0 && outGpa + outLen > mem.size) mem.offsetOf(BigInt(outGpa), outLen);
    if (inLen > 0 && outLen > 0 && inGpa < outGpa + outLen && outGpa < inGpa + inLen) {
      this.#diagnoseOverlap(vp, inGpa, inLen, outGpa, outLen);
    }
    this.#outOffset = outGpa;
    if (inLen > 0) this.#copyIn(inGpa, inLen);
    return undefined;
  }

  /** `#stageMemoryInput` for registers without a word view. */
  #stageMemoryInputBig(vp: number, io: HypercallIo, inLen: number, outLen: number): HvStatusCode | undefined {
    const inGpa = io.inputGpa;
    const outGpa = io.outputGpa;
    const bad = this.#checkList(inGpa, inLen, 'input') ?? this.#checkList(outGpa, outLen, 'output');
    if (bad !== undefined) return bad;
    const mem = this.#env.memory;
    const inOff = inLen > 0 ? mem.offsetOf(inGpa, inLen) : 0;
    this.#outOffset = outLen > 0 ? mem.offsetOf(outGpa, outLen) : 0;
    if (inLen > 0 && outLen > 0 && inGpa < outGpa + BigInt(outLen) && outGpa < inGpa + BigInt(inLen)) {
      this.#diagnoseOverlap(vp, inOff, inLen, this.#outOffset, outLen);
    }
    if (inLen > 0) this.#copyIn(inOff, inLen);
    return undefined;
  }

  #diagnoseOverlap(vp: number, inGpa: number, inLen: number, outGpa: number, outLen: number): void {
    this.#env.diagnose(
      'spec01.rule6.overlap',
      vp,
      `input list [0x${inGpa.toString(16)}, +${inLen}) overlaps output list [0x${outGpa.toString(16)}, +${outLen})`,
    );
  }

  /** Copies `len` bytes of RAM at `offset` into the input staging buffer. */
  #copyIn(offset: number, len: number): void {
    const mem = this.#env.memory;
    if (len <= SMALL_LIST_BYTES && len % 4 === 0 && offset % 4 === 0) {
      // Word by word: cheaper than a subarray view for the few bytes most calls take.
      for (let o = 0; o < len; o += 4) this.#inWhole.setUint32(o, mem.view.getUint32(offset + o, true), true);
    } else {
      this.#inBytes.set(mem.bytes.subarray(offset, offset + len));
    }
  }

  /** Rules 4–5 on a GPA given as u32 halves. */
  #checkListWords(lo: number, hi: number, len: number, list: ListName): HvStatusCode | undefined {
    if (len === 0) return undefined;
    const pageOffset = lo & (HV_PAGE_SIZE - 1);
    if (pageOffset % HV_PARAMETER_ALIGNMENT !== 0) return this.#badList(list, 'align', len);
    if (pageOffset + len > HV_PAGE_SIZE) return this.#badList(list, 'cross', len);
    // Rounding can only make a huge GPA look larger, never bring it below the limit.
    if (hi * 2 ** 32 + lo >= this.#gpaLimitNumber) return this.#badList(list, 'limit', len);
    return undefined;
  }

  /** Rules 4–5: INVALID_ALIGNMENT, with which check failed as the reason. */
  #badList(list: ListName, check: 'align' | 'cross' | 'limit', len: number): HvStatusCode {
    return this.#rule(
      HvStatus.INVALID_ALIGNMENT,
      listReason(list, check, len, this.#env.physicalAddressBits),
    );
  }

  /** Rules 4–5: alignment, one page, inside the GPA space. Nothing is checked for an empty list. */
  #checkList(gpa: bigint, len: number, list: ListName): HvStatusCode | undefined {
    if (len === 0) return undefined;
    const pageOffset = Number(gpa & PAGE_OFFSET_MASK);
    if (pageOffset % HV_PARAMETER_ALIGNMENT !== 0) return this.#badList(list, 'align', len);
    if (pageOffset + len > HV_PAGE_SIZE) return this.#badList(list, 'cross', len);
    // The list stays in its page, so it ends below the limit exactly when its page starts below it.
    if (gpa >= this.#gpaLimit) return this.#badList(list, 'limit', len);
    return undefined;
  }
}
