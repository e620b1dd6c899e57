import { type DetailValue, type HypercallDecoder, hex64 } from '@pvlab/hypercall/host';
import {
  hostVisibilityName,
  ModifyVisibilityFlags,
  ModifyVisibilityInput,
  QUERY_VISIBILITY_OUTPUT_ELEMENT_BYTES,
  QueryVisibilityInput,
} from '../wire/visibility.js';

/** The PFN list of a visibility call as runs: `0x100` or `0x100-0x10f` (consecutive PFNs merged). */
export function pfnRanges(view: DataView, first: number, count: number): string[] {
  const out: string[] = [];
  let start = -1n;
  let end = -1n;
  const flush = () => {
    if (start >= 0n) out.push(start === end ? hex64(start) : `${hex64(start)}-${hex64(end)}`);
  };
  for (let i = 0; i < count && first + 8 * (i + 1) <= view.byteLength; i++) {
    const pfn = view.getBigUint64(first + 8 * i, true);
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
    const flags = v.input.getBigUint64(ModifyVisibilityInput.hostVisibility, true);
    return {
      partitionId: hex64(v.input.getBigUint64(ModifyVisibilityInput.partitionId, true)),
      hostVisibility: hostVisibilityName(ModifyVisibilityFlags.decode(flags).HostVisibility),
      pfns: pfnRanges(v.input, ModifyVisibilityInput.headerBytes, v.control.repCount),
    };
  },
};

export const queryVisibilityDecoder: HypercallDecoder = {
  input: (v) => ({
    partitionId: hex64(v.input.getBigUint64(QueryVisibilityInput.partitionId, true)),
    pfns: pfnRanges(v.input, QueryVisibilityInput.headerBytes, v.control.repCount),
  }),
  output(v) {
    const out: DetailValue[] = [];
    for (let i = v.control.repStartIndex; i < v.repsCompleted; i++) {
      const at = i * QUERY_VISIBILITY_OUTPUT_ELEMENT_BYTES;
      if (at + 1 > v.output.byteLength) break;
      out.push(hostVisibilityName(v.output.getUint8(at)));
    }
    return { hostVisibility: out };
  },
};
