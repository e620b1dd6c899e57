import { HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import {
  defineHypercall,
  type HvPartition,
  type HypercallCall,
  type RepHypercallCall,
  type RepHypercallDescriptor,
  type RepOutcome,
  requireFeatures,
  type SimpleHypercallDescriptor,
} from '@pvlab/hypercall/host';
import {
  decodeGvaRange,
  FlushVirtualAddressListExInput,
  FlushVirtualAddressListExInputElement,
  FlushVirtualAddressListInput,
  FlushVirtualAddressListInputElement,
  FlushVirtualAddressSpaceExInput,
  FlushVirtualAddressSpaceInput,
  HV_FLUSH_ALL_PROCESSORS,
  HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES,
  HV_FLUSH_LIST_FLAGS,
  HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
  HV_FLUSH_SPACE_FLAGS,
  HV_FLUSH_USE_EXTENDED_RANGE_FORMAT,
} from '../wire/flush.js';
import { HvGenericSetFormat, readVpSetHeader } from '../wire/vp-set.js';
import { bankMismatch, flushDecoder } from './describe.js';
import type { TlbIpiHostState } from './state.js';

const gvaRange = FlushVirtualAddressListInputElement.accessors.gvaRange;
const header = FlushVirtualAddressSpaceInput.accessors;
const exHeader = FlushVirtualAddressSpaceExInput.accessors;

/** Spec 02 rule 9: the flush calls need RemoteTlbFlushRecommended (CPUID 0x40000004 EAX bit 2). */
const flushGate = requireFeatures('RemoteTlbFlushRecommended');
/** Spec 02 rule 9: the Ex flush calls also need ExProcessorMasksRecommended (EAX bit 11). */
const flushExGate = requireFeatures('RemoteTlbFlushRecommended', 'ExProcessorMasksRecommended');

/** Which of the four flush calls: the processor mask or HV_VP_SET form, Space or List. */
interface FlushShape {
  readonly ex: boolean;
  readonly list: boolean;
}

/** The elements a List invocation may process (the dispatcher's time slice). */
interface RepWindow {
  readonly start: number;
  readonly end: number;
  offset(i: number): number;
}

/**
 * The flush, shared by the four calls. Order of checks: VariableHeaderSize against the banks
 * (INVALID_HYPERCALL_INPUT), then Format, Flags and the extended-range feature
 * (INVALID_PARAMETER), then the GVA ranges one by one (INVALID_PARAMETER at the first bad one,
 * after the ones before it are flushed) — but a target whose TLB is locked (the core's
 * `HvVpState.tlbLocked`, set by `@pvlab/vtl`) first suspends the caller. Then every target's TLB is flushed before returning.
 */
function flush(
  partition: HvPartition,
  state: TlbIpiHostState,
  shape: FlushShape,
  call: HypercallCall,
  reps: RepWindow | undefined,
): { status: HvStatusCode; done: number } {
  const input = call.input;
  const start = reps?.start ?? 0;
  const fail = (status: HvStatusCode, reason: string) => ({ status: call.fail(status, reason), done: start });

  let allTargets = false;
  let validBanksMask = 0n;
  if (shape.ex) {
    const set = readVpSetHeader(input, exHeader.vpSet.offset);
    // Spec 02 rule 11: VariableHeaderSize = popcount(ValidBanksMask), in every Format.
    if (8 * set.banks !== call.variableHeaderBytes)
      return fail(HvStatus.INVALID_HYPERCALL_INPUT, bankMismatch(set.banks, call.variableHeaderBytes));
    if (set.format === BigInt(HvGenericSetFormat.ALL)) allTargets = true;
    else if (set.format !== BigInt(HvGenericSetFormat.SPARSE_4K))
      return fail(
        HvStatus.INVALID_PARAMETER,
        `HV_VP_SET Format 0x${set.format.toString(16)} is neither SPARSE_4K nor ALL`,
      );
    validBanksMask = set.validBanksMask;
  }

  // Spec 02 rule 18 (openvmm): flags outside bits 0–2 (plus bit 3 for List calls) are refused.
  const flags = shape.ex ? exHeader.flags.get(input) : header.flags.get(input);
  const allowed = shape.list ? HV_FLUSH_LIST_FLAGS : HV_FLUSH_SPACE_FLAGS;
  if ((flags & ~allowed) !== 0n)
    return fail(
      HvStatus.INVALID_PARAMETER,
      `undefined Flags bits 0x${(flags & ~allowed).toString(16)} (spec 02 rule 18)`,
    );
  const extended = (flags & HV_FLUSH_USE_EXTENDED_RANGE_FORMAT) !== 0n;
  if (extended && !partition.features.has('ExtendedGvaRangesForFlush'))
    return fail(
      HvStatus.INVALID_PARAMETER,
      'USE_EXTENDED_RANGE_FORMAT while ExtendedGvaRangesForFlush is not exposed',
    );

  const targets = state.targets;
  targets.clear();
  if (allTargets || (flags & HV_FLUSH_ALL_PROCESSORS) !== 0n) targets.addAll();
  else if (shape.ex) targets.addSparseSet(input, exHeader.vpSet.offset, validBanksMask);
  else targets.addBank(0, header.processorMask.getLow(input), header.processorMask.getHigh(input));

  const space =
    (flags & HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES) !== 0n
      ? 'all'
      : shape.ex
        ? exHeader.addressSpace.get(input)
        : header.addressSpace.get(input);
  // Spec 03 rule 9: a locked target suspends the caller before anything is flushed; the caller
  // re-executes the whole call once resumed. Its own TLB never suspends it (no one could wake it).
  const vps = partition.vps;
  // Per-VP field reads, and none while no TLB is locked: this is every flush's path.
  if (partition.lockedTlbs !== 0) {
    for (let t = 0; t < targets.length; t++) {
      const vp = targets.vps[t]!;
      if (vp !== call.vp && vps[vp]!.tlbLocked)
        call.suspend(vp, `TLB flush of VP ${vp} inhibited (its TLB is locked)`);
    }
  }
  const kvm = state.flushMode === 'kvm-fifo';

  if (reps === undefined) {
    const nonGlobalOnly = (flags & HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY) !== 0n;
    for (let t = 0; t < targets.length; t++) {
      const vp = targets.vps[t]!;
      const tlb = vps[vp]!.tlb;
      if (kvm) {
        const fifo = state.fifo(vp);
        fifo.enqueueFlushAll();
        fifo.drain(tlb);
      } else tlb.flushSpace(space, nonGlobalOnly);
    }
    state.counters.targetFlushes += targets.length;
    return { status: HvStatus.SUCCESS, done: 0 };
  }

  // Decode this invocation's ranges, up to the first malformed one (TLFS: RepsCompleted counts
  // the elements done before a failing element, and those are done).
  const ranges = state.ranges;
  const raw = state.rawRanges;
  ranges.length = 0;
  raw.length = 0;
  let status: HvStatusCode = HvStatus.SUCCESS;
  let done = reps.end;
  for (let i = reps.start; i < reps.end; i++) {
    const entry = gvaRange.get(input, reps.offset(i));
    const range = decodeGvaRange(entry, extended);
    if (range === undefined) {
      status = call.fail(
        HvStatus.INVALID_PARAMETER,
        `GVA range ${i}: a large-page entry with RsvdZ bits set`,
      );
      done = i;
      break;
    }
    ranges.push(range);
    raw.push(entry);
  }
  if (ranges.length > 0) {
    for (let t = 0; t < targets.length; t++) {
      const vp = targets.vps[t]!;
      const tlb = vps[vp]!.tlb;
      if (kvm) {
        const fifo = state.fifo(vp);
        fifo.enqueue(raw, raw.length, extended);
        fifo.drain(tlb);
      } else {
        // A list flush removes the listed pages whatever their kind: global ones too.
        for (const r of ranges) tlb.flushRange(r.gva, r.pages, r.pageBytes, space);
      }
    }
    state.counters.targetFlushes += targets.length;
  }
  return { status, done };
}

/** What the four flush calls share: the variable header (Ex), XMM fast form, gate, decoder. */
function flushCommon(ex: boolean, list: boolean) {
  return {
    variableHeader: ex,
    fast: 'xmm',
    gate: ex ? flushExGate : flushGate,
    describe: flushDecoder(ex, list),
  } as const;
}

/** The handler of the two "Space" calls. */
function simpleFlush(partition: HvPartition, state: TlbIpiHostState, ex: boolean) {
  const shape: FlushShape = { ex, list: false };
  return (call: HypercallCall): HvStatusCode => {
    const { status } = flush(partition, state, shape, call, undefined);
    if (status === HvStatus.SUCCESS) state.counters.flushes++;
    return status;
  };
}

/** The handler of the two "List" calls. */
function listFlush(partition: HvPartition, state: TlbIpiHostState, ex: boolean) {
  const shape: FlushShape = { ex, list: true };
  return (call: RepHypercallCall): RepOutcome => {
    const window: RepWindow = { start: call.repStart, end: call.repEnd, offset: call.inputElementOffset };
    const { status, done } = flush(partition, state, shape, call, window);
    if (status === HvStatus.SUCCESS) state.counters.flushes++;
    return { status, repsCompleted: done };
  };
}

/** HvCallFlushVirtualAddressSpace (0x0002, simple, 24-byte input, XMM fast): flush by ProcessorMask. */
export function flushVirtualAddressSpace(
  partition: HvPartition,
  state: TlbIpiHostState,
): SimpleHypercallDescriptor {
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallFlushVirtualAddressSpace',
    input: FlushVirtualAddressSpaceInput,
    ...flushCommon(false, false),
    handler: simpleFlush(partition, state, false),
  });
}

/** HvCallFlushVirtualAddressList (0x0003, rep of 8-byte GVA ranges after 24 bytes, XMM fast). */
export function flushVirtualAddressList(
  partition: HvPartition,
  state: TlbIpiHostState,
): RepHypercallDescriptor {
  return defineHypercall({
    kind: 'rep',
    call: 'HvCallFlushVirtualAddressList',
    input: FlushVirtualAddressListInput,
    inputElement: FlushVirtualAddressListInputElement,
    ...flushCommon(false, true),
    handler: listFlush(partition, state, false),
  });
}

/** HvCallFlushVirtualAddressSpaceEx (0x0013, simple + HV_VP_SET banks as variable header, XMM fast). */
export function flushVirtualAddressSpaceEx(
  partition: HvPartition,
  state: TlbIpiHostState,
): SimpleHypercallDescriptor {
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallFlushVirtualAddressSpaceEx',
    input: FlushVirtualAddressSpaceExInput,
    ...flushCommon(true, false),
    handler: simpleFlush(partition, state, true),
  });
}

/** HvCallFlushVirtualAddressListEx (0x0014, rep + HV_VP_SET banks as variable header, XMM fast). */
export function flushVirtualAddressListEx(
  partition: HvPartition,
  state: TlbIpiHostState,
): RepHypercallDescriptor {
  return defineHypercall({
    kind: 'rep',
    call: 'HvCallFlushVirtualAddressListEx',
    input: FlushVirtualAddressListExInput,
    inputElement: FlushVirtualAddressListExInputElement,
    ...flushCommon(true, true),
    handler: listFlush(partition, state, true),
  });
}
