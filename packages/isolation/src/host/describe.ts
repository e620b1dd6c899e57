import { type DetailValue, type HypercallDecoder, hex64 } from '@pvlab/hypercall/host';
import {
  hostVisibilityName,
  ModifySparseGpaPageHostVisibilityInput,
  ModifySparseGpaPageHostVisibilityInputElement,
  ModifyVisibilityFlags,
  QuerySparseGpaPageHostVisibilityInput,
  QuerySparseGpaPageHostVisibilityOutputElement,
} from '../wire/visibility.js';

const PFN_BYTES = ModifySparseGpaPageHostVisibilityInputElement.size;
const pfnField = ModifySparseGpaPageHostVisibilityInputElement.accessors.gpaPageNumber;
const modify = ModifySparseGpaPageHostVisibilityInput.accessors;
const queryPartitionId = QuerySparseGpaPageHostVisibilityInput.accessors.partitionId;
const queryVisibility = QuerySparseGpaPageHostVisibilityOutputElement.accessors.hostVisibility;

/** The PFN list of a visibility call as runs: `0x100` or `0x100-0x10f` (consecutive PFNs merged). */
export function pfnRanges(view: DataView, first: number, count: number): string[] {
  const out: string[] = [];
  let start = -1n;
  let end = -1n;
  const flush = () => {
    if (start >= 0n) out.push(start === end ? hex64(start) : `${hex64(start)}-${hex64(end)}`);
  };
  for (let i = 0; i < count && first + PFN_BYTES * (i + 1) <= view.byteLength; i++) {
    const pfn = pfnField.get(view, first + PFN_BYTES * i);
    if (start >= 0n && pfn === end + 1n) end = pfn;
    else {
      flush();
      start = pfn;
      end = pfn;
    }
  }
  flush();
  return out;
}

export const modifyVisibilityDecoder: HypercallDecoder = {
  input(v) {
    const flags = BigInt(modify.hostVisibility.get(v.input)) | (BigInt(modify.reserved.get(v.input)) << 32n);
    return {
      partitionId: hex64(modify.partitionId.get(v.input)),
      hostVisibility: hostVisibilityName(ModifyVisibilityFlags.decode(flags).HostVisibility),
      pfns: pfnRanges(v.input, ModifySparseGpaPageHostVisibilityInput.size, v.control.repCount),
    };
  },
};

export const queryVisibilityDecoder: HypercallDecoder = {
  input: (v) => ({
    partitionId: hex64(queryPartitionId.get(v.input)),
    pfns: pfnRanges(v.input, QuerySparseGpaPageHostVisibilityInput.size, v.control.repCount),
  }),
  output(v) {
    const out: DetailValue[] = [];
    for (let i = v.control.repStartIndex; i < v.repsCompleted; i++) {
      const at = i * QuerySparseGpaPageHostVisibilityOutputElement.size;
      if (at + queryVisibility.bytes > v.output.byteLength) break;
      out.push(hostVisibilityName(queryVisibility.get(v.output, at)));
    }
    return { hostVisibility: out };
  },
};
