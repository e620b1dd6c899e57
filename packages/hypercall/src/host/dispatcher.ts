import { GuestFault } from '../guest-fault.js';
import type { GuestMemory } from '../memory.js';
import { hvCallName } from '../wire/call-code.js';
import type { HypercallControlFields } from '../wire/control.js';
import { HV_HYPERCALL_RSVD_MASK } from '../wire/control.js';
import { fastInputPairs } from '../wire/fast.js';
import { HV_PAGE_SIZE, HV_PARAMETER_ALIGNMENT } from '../wire/page.js';
import { encodeHypercallResult } from '../wire/result.js';
import { HvStatus, type HvStatusCode } from '../wire/status.js';
import type { HypercallIo } from './calling-convention.js';
import type {
  FeatureView,
  HypercallCall,
  HypercallDescriptor,
  RepHypercallCall,
  RepOutcome,
} from './descriptor.js';
import { HypercallSuspended } from './suspend.js';

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
}

/** Raised when a handler breaks the dispatcher's contract: a host bug, never a guest error. */
export class HostInvariantError extends Error {
  override readonly name = 'HostInvariantError';
}

const RSVD_LO = Number(HV_HYPERCALL_RSVD_MASK & 0xffff_ffffn) | 0x8000_0000; // + Nested (bit 31)
const RSVD_HI = Number(HV_HYPERCALL_RSVD_MASK >> 32n);

const statusResult = (status: HvStatusCode): bigint => encodeHypercallResult(status, 0);
const PAGE_OFFSET_MASK = BigInt(HV_PAGE_SIZE - 1);

/**
 * Validates every generic rule of spec 01 (rules 1–6, 11–13) in one place, copies the input,
 * runs the descriptor's handler and writes back only what completed. Handlers see well-formed
 * input only. Guest-controlled input never throws here: it gets a status or a GuestFault.
 */
export class HypercallDispatcher {
  readonly #env: DispatcherEnvironment;
  readonly #table = new Map<number, HypercallDescriptor>();
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
  #observer: ((record: HypercallRecord) => void) | undefined;
  /** The call being handled, for `#diagnose` and `#suspend`. */
  #curVp = -1;
  #curDesc: HypercallDescriptor | undefined;
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
    this.#table.set(descriptor.code, descriptor);
  }

  /** The descriptor of a call code, if registered. */
  descriptor(code: number): HypercallDescriptor | undefined {
    return this.#table.get(code);
  }

  /** Every registered descriptor, by call code. */
  descriptors(): HypercallDescriptor[] {
    return [...this.#table.values()].sort((a, b) => a.code - b.code);
  }

  /** Sees every completed call (after its status is known). One observer; `undefined` removes it. */
  observe(observer: ((record: HypercallRecord) => void) | undefined): void {
    this.#observer = observer;
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
    const fast = ((lo >>> 16) & 1) === 1;
    const varHdr = (lo >>> 17) & 0x3ff;
    const repCount = hi & 0xfff;
    const repStart = (hi >>> 16) & 0xfff;

    let status: HvStatusCode;
    let reps = 0;
    const desc = this.#table.get(code);
    // Spec 03 rule 3: calls such as VtlCall take no control fields at all; anything else is #UD.
    if ((lo >>> 16 !== 0 || hi !== 0) && desc?.exactControl === true) {
      throw new GuestFault(
        'UD',
        `${desc.name} with control 0x${io.control.toString(16)}: only the bare call code 0x${code.toString(16)} is accepted`,
      );
    }
    // Rule 1: reserved bits (KVM counts Nested as reserved; pvlab models no nested hypervisor).
    if ((lo & RSVD_LO) !== 0 || (hi & RSVD_HI) !== 0) {
      status = HvStatus.INVALID_HYPERCALL_INPUT;
    } else {
      if (desc === undefined) {
        status = HvStatus.INVALID_HYPERCALL_CODE;
      } else if (desc.gate !== undefined && !desc.gate.isOpen(this.#env.features)) {
        status = HvStatus.ACCESS_DENIED;
      } else {
        const fields: HypercallControlFields = {
          callCode: code,
          fast,
          variableHeaderSize: varHdr,
          nested: false,
          repCount,
          repStartIndex: repStart,
          reservedBits: 0n,
        };
        let outcome: RepOutcome;
        try {
          outcome = this.#run(vp, io, desc, fields);
        } catch (e) {
          if (e instanceof HypercallSuspended) this.#observeSuspension(vp, io.control, desc.name, fields, e);
          throw e;
        }
        status = outcome.status;
        reps = outcome.repsCompleted;
      }
    }
    const observer = this.#observer;
    if (observer) {
      observer({
        vp,
        control: io.control,
        callCode: code,
        name: desc?.name ?? hvCallName(code),
        fast,
        repCount,
        repStartIndex: repStart,
        status,
        repsCompleted: reps,
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
    });
  }

  #run(vp: number, io: HypercallIo, desc: HypercallDescriptor, c: HypercallControlFields): RepOutcome {
    const isRep = desc.kind === 'rep';
    // Rule 2: rep fields on simple calls; RepCount 0 or RepStartIndex ≥ RepCount on rep calls.
    if (
      isRep ? c.repCount === 0 || c.repStartIndex >= c.repCount : c.repCount !== 0 || c.repStartIndex !== 0
    ) {
      return fail(HvStatus.INVALID_HYPERCALL_INPUT);
    }
    // Rule 3: a variable header only where the call has one.
    if (c.variableHeaderSize !== 0 && !desc.variableHeader) return fail(HvStatus.INVALID_HYPERCALL_INPUT);

    const varBytes = 8 * c.variableHeaderSize;
    const inLen = inputLength(desc, c);
    const outLen = isRep ? c.repCount * desc.outputElementBytes : desc.outputBytes;

    let outputSlot = -1;
    if (c.fast) {
      const staged = this.#stageFastInput(io, desc, inLen, outLen);
      if (typeof staged === 'object') return staged;
      outputSlot = staged;
    } else {
      const staged = this.#stageMemoryInput(vp, io, inLen, outLen);
      if (staged !== undefined) return staged;
    }
    this.#outBytes.fill(0, 0, outLen);

    const env = this.#env;
    const input = viewOf(this.#inViews, this.#inBuf, inLen);
    const output = viewOf(this.#outViews, this.#outBuf, outLen);
    // The call's diagnose/suspend are made once and read the call in progress from here (handlers
    // run synchronously and never dispatch), so a call allocates no closures.
    this.#curVp = vp;
    this.#curDesc = desc;
    const diagnose = this.#diagnose;
    const suspend = this.#suspend;
    let outcome: RepOutcome;
    let writeFrom = 0;
    let writeTo = 0;
    if (desc.kind === 'simple') {
      const call: HypercallCall = {
        vp,
        control: c,
        input,
        variableHeaderBytes: varBytes,
        output,
        diagnose,
        suspend,
      };
      const status = desc.handler(call);
      outcome = { status, repsCompleted: 0 };
      if (status === HvStatus.SUCCESS) writeTo = outLen;
    } else {
      const repEnd = Math.min(c.repCount, c.repStartIndex + env.maxRepsPerCall);
      const header = desc.fixedInputBytes + varBytes;
      const inEl = desc.inputElementBytes;
      const outEl = desc.outputElementBytes;
      const call: RepHypercallCall = {
        vp,
        control: c,
        input,
        variableHeaderBytes: varBytes,
        output,
        diagnose,
        suspend,
        repStart: c.repStartIndex,
        repEnd,
        inputElementOffset: (i) => header + i * inEl,
        outputElementOffset: (i) => i * outEl,
      };
      outcome = desc.handler(call);
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
    }
    if (c.fast && writeTo > 0) {
      io.fastOutputFirstSlot = outputSlot;
      io.fastOutputSlots = writeTo / 8;
    }
    if (writeTo > writeFrom) {
      if (c.fast) this.#writeFastOutput(io, outputSlot, writeFrom, writeTo);
      else
        this.#env.memory.bytes.set(
          this.#outBytes.subarray(writeFrom, writeTo),
          this.#env.memory.offsetOf(io.outputGpa, outLen) + writeFrom,
        );
    }
    return outcome;
  }

  /** Rule 11: copies register input into the staging buffer; returns the first output slot or a failure. */
  #stageFastInput(
    io: HypercallIo,
    desc: HypercallDescriptor,
    inLen: number,
    outLen: number,
  ): number | RepOutcome {
    const support = desc.fast ?? 'none';
    if (support === 'none') return fail(HvStatus.INVALID_HYPERCALL_INPUT);
    const needsXmm = inLen > 16 || outLen > 0;
    if (needsXmm) {
      if (support !== 'xmm') return fail(HvStatus.INVALID_HYPERCALL_INPUT);
      // Rule 13 (KVM, enforced CPUID): an XMM fast call without the XMM input feature is #UD.
      if (!this.#env.features.has('XmmFastHypercallInput')) {
        throw new GuestFault('UD', `XMM fast ${desc.name} while XMM fast hypercall input is not exposed`);
      }
      if (outLen > 0 && !this.#env.features.has('XmmFastHypercallOutput')) {
        return fail(HvStatus.INVALID_HYPERCALL_INPUT);
      }
    }
    const firstOutputSlot = firstFastOutputSlot(inLen);
    if (inLen > 8 * io.fastSlotCount || firstOutputSlot + outLen / 8 > io.fastSlotCount) {
      return fail(HvStatus.INVALID_HYPERCALL_INPUT);
    }
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
    return firstOutputSlot;
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

  /** Rules 4–7 for memory calls; copies the input list into the staging buffer. */
  #stageMemoryInput(vp: number, io: HypercallIo, inLen: number, outLen: number): RepOutcome | undefined {
    const inGpa = io.inputGpa;
    const outGpa = io.outputGpa;
    const bad = this.#checkList(inGpa, inLen) ?? this.#checkList(outGpa, outLen);
    if (bad !== undefined) return fail(bad);
    const mem = this.#env.memory;
    // Rule 7: a list in GPA space but not in RAM is a memory intercept.
    const inOff = inLen > 0 ? mem.offsetOf(inGpa, inLen) : 0;
    if (outLen > 0) mem.offsetOf(outGpa, outLen);
    if (inLen > 0 && outLen > 0 && inGpa < outGpa + BigInt(outLen) && outGpa < inGpa + BigInt(inLen)) {
      this.#env.diagnose(
        'spec01.rule6.overlap',
        vp,
        `input list [0x${inGpa.toString(16)}, +${inLen}) overlaps output list [0x${outGpa.toString(16)}, +${outLen})`,
      );
    }
    if (inLen > 0) this.#inBytes.set(mem.bytes.subarray(inOff, inOff + inLen));
    return undefined;
  }

  /** Rules 4–5: alignment, one page, inside the GPA space. Nothing is checked for an empty list. */
  #checkList(gpa: bigint, len: number): HvStatusCode | undefined {
    if (len === 0) return undefined;
    const pageOffset = Number(gpa & PAGE_OFFSET_MASK);
    if (pageOffset % HV_PARAMETER_ALIGNMENT !== 0) return HvStatus.INVALID_ALIGNMENT;
    if (pageOffset + len > HV_PAGE_SIZE) return HvStatus.INVALID_ALIGNMENT;
    // The list stays in its page, so it ends below the limit exactly when its page starts below it.
    if (gpa >= this.#gpaLimit) return HvStatus.INVALID_ALIGNMENT;
    return undefined;
  }
}

/** The cached view of the first `length` bytes of `buffer`. */
function viewOf(cache: (DataView | undefined)[], buffer: ArrayBuffer, length: number): DataView {
  let view = cache[length];
  if (view === undefined) {
    view = new DataView(buffer, 0, length);
    cache[length] = view;
  }
  return view;
}

/** Rule 3: fixed header + 8 × VariableHeaderSize + RepCount × element size. */
function inputLength(desc: HypercallDescriptor, c: HypercallControlFields): number {
  const reps = desc.kind === 'rep' ? c.repCount * desc.inputElementBytes : 0;
  return desc.fixedInputBytes + 8 * c.variableHeaderSize + reps;
}

/** Rule 11: fast output starts at the first register pair after the input, never in RDX:R8. */
function firstFastOutputSlot(inLen: number): number {
  return Math.max(2 * fastInputPairs(inLen), 2);
}

function fail(status: HvStatusCode): RepOutcome {
  return { status, repsCompleted: 0 };
}

function validateDescriptor(d: HypercallDescriptor): void {
  const problems: string[] = [];
  if (!Number.isInteger(d.code) || d.code < 0 || d.code > 0xffff) problems.push('code is not a 16-bit value');
  if (d.fixedInputBytes % 8 !== 0 || d.fixedInputBytes < 0 || d.fixedInputBytes > HV_PAGE_SIZE) {
    problems.push('fixedInputBytes is not a multiple of 8 within a page');
  }
  if (d.kind === 'rep') {
    if (!Number.isInteger(d.inputElementBytes) || d.inputElementBytes < 0) {
      problems.push('inputElementBytes is not a byte count');
    }
    // Whole output elements land in whole fast-output slots.
    if (d.outputElementBytes % 8 !== 0 || d.outputElementBytes < 0) {
      problems.push('outputElementBytes is not a multiple of 8');
    }
  } else if (d.outputBytes % 8 !== 0 || d.outputBytes > HV_PAGE_SIZE) {
    problems.push('outputBytes is not a multiple of 8 within a page');
  }
  if (problems.length > 0) throw new HostInvariantError(`descriptor ${d.name}: ${problems.join('; ')}`);
}
