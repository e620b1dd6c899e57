import { HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import {
  defineHypercall,
  type RepHypercallDescriptor,
  type RepOutcome,
  requireFeatures,
} from '@pvlab/hypercall/host';
import {
  HostVisibility,
  HV_PARTITION_ID_SELF,
  ModifySparseGpaPageHostVisibilityInput,
  ModifySparseGpaPageHostVisibilityInputElement,
  ModifyVisibilityFlags,
  QuerySparseGpaPageHostVisibilityInput,
  QuerySparseGpaPageHostVisibilityInputElement,
  QuerySparseGpaPageHostVisibilityOutputElement,
} from '../wire/visibility.js';
import { modifyVisibilityDecoder, queryVisibilityDecoder } from './describe.js';
import type { IsolationHostState } from './state.js';

const modify = ModifySparseGpaPageHostVisibilityInput.accessors;
const query = QuerySparseGpaPageHostVisibilityInput.accessors;
const modifyPfn = ModifySparseGpaPageHostVisibilityInputElement.accessors.gpaPageNumber;
const queryPfn = QuerySparseGpaPageHostVisibilityInputElement.accessors.gpaPageNumber;
const visibilityOut = QuerySparseGpaPageHostVisibilityOutputElement.accessors.hostVisibility;

/** Both calls need the Isolation privilege (CPUID 0x40000003 EBX bit 22); closed → ACCESS_DENIED. */
const isolationGate = requireFeatures('Isolation');

/**
 * HvCallModifySparseGpaPageHostVisibility (0x00DB, rep, 16-byte header, u64 PFN per rep, no
 * output, memory form only). Checks, in order: PartitionId ≠ SELF → ACCESS_DENIED (openvmm);
 * RsvdZ bits or HostVisibility 2 (or 1 under the `refuse` policy) → INVALID_PARAMETER; any PFN of
 * this invocation outside RAM → OPERATION_DENIED with nothing changed (openvmm validates the
 * whole list first). Then each page takes the visibility; a page that flips between private and
 * host-visible is scrambled (the other side sees garbage).
 */
export function modifySparseGpaPageHostVisibility(state: IsolationHostState): RepHypercallDescriptor {
  return defineHypercall({
    kind: 'rep',
    call: 'HvCallModifySparseGpaPageHostVisibility',
    input: ModifySparseGpaPageHostVisibilityInput,
    inputElement: ModifySparseGpaPageHostVisibilityInputElement,
    fast: 'none',
    gate: isolationGate,
    describe: modifyVisibilityDecoder,
    handler(call): RepOutcome {
      const input = call.input;
      const fail = (status: HvStatusCode, reason: string): RepOutcome => ({
        status: call.fail(status, reason),
        repsCompleted: call.repStart,
      });
      if (modify.partitionId.get(input) !== HV_PARTITION_ID_SELF)
        return fail(HvStatus.ACCESS_DENIED, 'PartitionId is not HV_PARTITION_ID_SELF');
      // The two u32s as the one u64 `ModifyVisibilityFlags` declares.
      const flags = BigInt(modify.hostVisibility.get(input)) | (BigInt(modify.reserved.get(input)) << 32n);
      if (ModifyVisibilityFlags.reservedZeroBits(flags) !== 0n)
        return fail(HvStatus.INVALID_PARAMETER, 'RsvdZ bits set');
      const visibility = ModifyVisibilityFlags.decode(flags).HostVisibility;
      if (visibility === 2) return fail(HvStatus.INVALID_PARAMETER, 'HostVisibility 2 is undefined');
      if (visibility === HostVisibility.READ_ONLY && state.readOnlyVisibility === 'refuse')
        return fail(HvStatus.INVALID_PARAMETER, "HostVisibility READ_ONLY under the 'refuse' policy");
      const pages = state.visibility.pages;
      for (let i = call.repStart; i < call.repEnd; i++) {
        const pfn = modifyPfn.get(input, call.inputElementOffset(i));
        if (pfn >= BigInt(pages))
          return fail(HvStatus.OPERATION_DENIED, `PFN 0x${pfn.toString(16)} (element ${i}) is outside RAM`);
      }
      const target = visibility as 0 | 1 | 3;
      let converted = 0;
      for (let i = call.repStart; i < call.repEnd; i++) {
        const pfn = Number(modifyPfn.get(input, call.inputElementOffset(i)));
        const old = state.visibility.get(pfn);
        if (old === target) continue;
        // Private↔shared re-keys the page; READ_ONLY↔READ_WRITE only changes the host's rights.
        if ((old === 0) !== (target === 0)) {
          state.scrambler.convert(state.ram, pfn);
          converted++;
        }
        state.visibility.set(pfn, target);
      }
      state.counters.modifyCalls++;
      state.counters.pagesConverted += converted;
      state.emit({
        kind: 'visibility-changed',
        vp: call.vp,
        visibility: target,
        pages: call.repEnd - call.repStart,
        converted,
      });
      return { status: HvStatus.SUCCESS, repsCompleted: call.repEnd };
    },
  });
}

/**
 * HvCallQuerySparseGpaPageHostVisibility (0x011C, rep, 8-byte header, u64 PFN in, one
 * HostVisibility out per PFN, memory form only). PartitionId ≠ SELF → ACCESS_DENIED; the first
 * PFN outside RAM → OPERATION_DENIED with the elements before it completed (openvmm).
 */
export function querySparseGpaPageHostVisibility(state: IsolationHostState): RepHypercallDescriptor {
  return defineHypercall({
    kind: 'rep',
    call: 'HvCallQuerySparseGpaPageHostVisibility',
    input: QuerySparseGpaPageHostVisibilityInput,
    inputElement: QuerySparseGpaPageHostVisibilityInputElement,
    outputElement: QuerySparseGpaPageHostVisibilityOutputElement,
    fast: 'none',
    gate: isolationGate,
    describe: queryVisibilityDecoder,
    handler(call): RepOutcome {
      const input = call.input;
      if (query.partitionId.get(input) !== HV_PARTITION_ID_SELF)
        return {
          status: call.fail(HvStatus.ACCESS_DENIED, 'PartitionId is not HV_PARTITION_ID_SELF'),
          repsCompleted: call.repStart,
        };
      const pages = BigInt(state.visibility.pages);
      for (let i = call.repStart; i < call.repEnd; i++) {
        const pfn = queryPfn.get(input, call.inputElementOffset(i));
        if (pfn >= pages) {
          const why = `PFN 0x${pfn.toString(16)} (element ${i}) is outside RAM`;
          return { status: call.fail(HvStatus.OPERATION_DENIED, why), repsCompleted: i };
        }
        visibilityOut.set(call.output, state.visibility.get(Number(pfn)), call.outputElementOffset(i));
      }
      state.counters.queryCalls++;
      return { status: HvStatus.SUCCESS, repsCompleted: call.repEnd };
    },
  });
}
