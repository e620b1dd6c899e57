import {
  CR3_ADDR_MASK,
  FlushVirtualAddressListExInputElement,
  FlushVirtualAddressListInputElement,
  FlushVirtualAddressSpaceExInput,
  FlushVirtualAddressSpaceInput,
  HV_FLUSH_ALL_PROCESSORS,
  HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES,
  HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
} from '../wire/flush.js';
import { HV_VP_SET_BANK_BYTES, HV_VP_SET_BANK_SIZE, writeSparseVpSet } from '../wire/vp-set.js';
import { cpumaskToVpSet } from './cpumask-to-vpset.js';
import { type HvCpuEnv, hvCpuNumberToVpNumber, isPresentMask, isVpInval, normalizeCpumask } from './env.js';
import { fillGvaList, gvaListLength, HV_TLB_FLUSH_UNIT } from './fill-gva-list.js';
import { memoryPlan, type PathPlan } from './hypercall-plan.js';

/** Linux's `TLB_FLUSH_ALL` as a request's end: flush the whole address space. */
export const TLB_FLUSH_ALL: 'all' = 'all';

/** What to flush — Linux's `flush_tlb_info` (mm, start, end). */
export interface FlushRequest {
  /** The mm's page-directory physical address, or `null` for a kernel flush (no mm). */
  readonly pgd: bigint | null;
  /** First byte of the range (ignored for `TLB_FLUSH_ALL`). */
  readonly start: bigint;
  /** End of the range (exclusive), or `TLB_FLUSH_ALL`. */
  readonly end: bigint | typeof TLB_FLUSH_ALL;
}

/** Options of `chooseFlush`. */
export interface FlushChoiceOptions {
  /** Skip the 64-bit mask forms and always use the Ex forms (for cost comparisons; not Linux). */
  readonly alwaysEx?: boolean;
}

const U64 = (x: bigint) => BigInt.asUintN(64, x);
/** `__set_bit(−1, mask)` on x86 sets bit 63 of the u64 just before `mask`. */
const BIT_MINUS_ONE = 1n << 63n;

const GVA_RANGE_BYTES = FlushVirtualAddressListInputElement.size;
const gvaRange = FlushVirtualAddressListInputElement.accessors.gvaRange;
const exGvaRange = FlushVirtualAddressListExInputElement.accessors.gvaRange;

/**
 * Linux `hyperv_flush_tlb_multi` as a pure decision (spec 02 rules 1–4, 7): which flush call
 * (or the native path, or nothing) flushes `request` on `cpus`, with the control value and the
 * exact input bytes. The executing side is `hvFlushTlbOthers`.
 */
export function chooseFlush(
  env: HvCpuEnv,
  cpus: Iterable<number>,
  request: FlushRequest,
  options: FlushChoiceOptions = {},
): PathPlan {
  if (!env.remoteTlbFlush) return { kind: 'native', reason: 'not-recommended' };
  if (env.inputPageBytes <= 0) return { kind: 'native', reason: 'no-input-page' };
  const mask = normalizeCpumask(env, cpus);
  const addressSpace = request.pgd === null ? 0n : request.pgd & CR3_ADDR_MASK;
  let flags = request.pgd === null ? HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES : 0n;
  if (options.alwaysEx) return chooseFlushEx(env, mask, request, addressSpace, flags);

  let processorMask = 0n;
  if (isPresentMask(env, mask)) {
    flags |= HV_FLUSH_ALL_PROCESSORS;
  } else {
    // The highest CPU's VP first: a quick way to see that the Ex form is a must.
    const last = mask.at(-1);
    if (last !== undefined && hvCpuNumberToVpNumber(env, last) >= HV_VP_SET_BANK_SIZE)
      return chooseFlushEx(env, mask, request, addressSpace, flags);
    for (const cpu of mask) {
      const vp = hvCpuNumberToVpNumber(env, cpu);
      if (isVpInval(env, vp)) return { kind: 'native', reason: 'vp-inval' };
      if (vp >= HV_VP_SET_BANK_SIZE) return chooseFlushEx(env, mask, request, addressSpace, flags);
      if (vp < 0) flags |= BIT_MINUS_ONE;
      else processorMask |= 1n << BigInt(vp);
    }
    if (processorMask === 0n) return { kind: 'none', reason: 'empty-mask' };
  }

  const headerBytes = FlushVirtualAddressSpaceInput.size;
  const maxGvas = Math.floor((env.inputPageBytes - headerBytes) / GVA_RANGE_BYTES);
  const header = (extra: number) => {
    const input = new Uint8Array(headerBytes + GVA_RANGE_BYTES * extra);
    const view = new DataView(input.buffer);
    FlushVirtualAddressSpaceInput.write(view, 0, { addressSpace, flags, processorMask });
    return { input, view };
  };
  if (request.end === TLB_FLUSH_ALL) {
    flags |= HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY;
    return memoryPlan('HvCallFlushVirtualAddressSpace', header(0).input, 0, 0);
  }
  if (spaceInsteadOfList(request.start, request.end, maxGvas))
    return memoryPlan('HvCallFlushVirtualAddressSpace', header(0).input, 0, 0);
  const gvas = fillGvaList(request.start, request.end);
  const { input, view } = header(gvas.length);
  gvas.forEach((gva, i) => {
    gvaRange.set(view, gva, headerBytes + GVA_RANGE_BYTES * i);
  });
  return memoryPlan('HvCallFlushVirtualAddressList', input, gvas.length, 0);
}

/**
 * `(end − start) / HV_TLB_FLUSH_UNIT > max_gvas` (unsigned, as in C) → a "Space" call. pvlab also
 * takes the Space call when the list would not fit: Linux's floor division lets a range just over
 * `max_gvas` × 16 MiB through with one entry too many (x86 never asks: it turns ranges over 33
 * pages into full flushes first).
 */
function spaceInsteadOfList(start: bigint, end: bigint, maxGvas: number): boolean {
  if (end !== 0n && U64(end - start) / HV_TLB_FLUSH_UNIT > BigInt(maxGvas)) return true;
  return gvaListLength(start, end) > maxGvas;
}

/** Linux `hyperv_flush_tlb_others_ex` (spec 02 rules 4, 7): the HV_VP_SET forms 0x0013/0x0014. */
function chooseFlushEx(
  env: HvCpuEnv,
  mask: readonly number[],
  request: FlushRequest,
  addressSpace: bigint,
  baseFlags: bigint,
): PathPlan {
  if (!env.exProcessorMasks) return { kind: 'native', reason: 'ex-not-recommended' };
  // The Ex header is written afresh: no ALL_PROCESSORS, no bit set by an unchecked VP_INVAL.
  let flags = baseFlags & HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES;
  const set = cpumaskToVpSet(env, mask);
  if (set.nrBank < 0) return { kind: 'native', reason: 'vp-inval' };
  const nrBank = set.nrBank;
  // The fixed header, then the banks (the variable header), then the GVA ranges.
  const rangesAt = FlushVirtualAddressSpaceExInput.size + HV_VP_SET_BANK_BYTES * nrBank;
  const maxGvas = Math.floor((env.inputPageBytes - rangesAt) / GVA_RANGE_BYTES);
  const build = (entries: readonly bigint[]) => {
    const input = new Uint8Array(rangesAt + GVA_RANGE_BYTES * entries.length);
    const view = new DataView(input.buffer);
    FlushVirtualAddressSpaceExInput.write(view, 0, { addressSpace, flags });
    // nrBank 0 (more than 64 banks needed): Linux leaves ValidBanksMask 0 and sends no bank.
    const layout = nrBank === 0 ? 'compact' : 'dense';
    const vpSetAt = FlushVirtualAddressSpaceExInput.offsetOf('vpSet');
    const written = writeSparseVpSet(view, vpSetAt, set.vps, layout);
    if (written !== nrBank) throw new Error(`the VP set took ${written} banks, expected ${nrBank}`);
    entries.forEach((gva, i) => {
      exGvaRange.set(view, gva, rangesAt + GVA_RANGE_BYTES * i);
    });
    return input;
  };
  if (request.end === TLB_FLUSH_ALL) {
    flags |= HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY;
    return memoryPlan('HvCallFlushVirtualAddressSpaceEx', build([]), 0, nrBank);
  }
  if (spaceInsteadOfList(request.start, request.end, maxGvas))
    return memoryPlan('HvCallFlushVirtualAddressSpaceEx', build([]), 0, nrBank);
  const gvas = fillGvaList(request.start, request.end);
  return memoryPlan('HvCallFlushVirtualAddressListEx', build(gvas), gvas.length, nrBank);
}
