import {
  type DetailFields,
  type DetailValue,
  type HypercallDecoder,
  hex64,
  setBits,
} from '@pvlab/hypercall/host';
import {
  decodeGvaRange,
  FlushExInput,
  FlushInput,
  HV_FLUSH_ALL_PROCESSORS,
  HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES,
  HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
  HV_FLUSH_USE_EXTENDED_RANGE_FORMAT,
} from '../wire/flush.js';
import { IpiExInput, IpiInput } from '../wire/ipi.js';
import {
  HV_VP_SET_HEADER_BYTES,
  HvGenericSetFormat,
  readSparseVpSet,
  readVpSetHeader,
  VpIndexSet,
} from '../wire/vp-set.js';

const FLAG_NAMES: readonly [bigint, string][] = [
  [HV_FLUSH_ALL_PROCESSORS, 'ALL_PROCESSORS'],
  [HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES, 'ALL_VIRTUAL_ADDRESS_SPACES'],
  [HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY, 'NON_GLOBAL_MAPPINGS_ONLY'],
  [HV_FLUSH_USE_EXTENDED_RANGE_FORMAT, 'USE_EXTENDED_RANGE_FORMAT'],
];

/** Flush flags by name; bits with no name as one `0x…` entry. */
function flagNames(flags: bigint): string[] {
  const names = FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0n).map(([, name]) => name);
  const unknown = flags & ~FLAG_NAMES.reduce((m, [bit]) => m | bit, 0n);
  return unknown === 0n ? names : [...names, hex64(unknown)];
}

/**
 * An HV_VP_SET at `offset` as the VPs it names: `all`, or the VP indexes of its banks (only the
 * banks the input holds; a set whose VariableHeaderSize disagrees shows what was there).
 */
export function describeVpSet(view: DataView, offset: number): DetailFields {
  const h = readVpSetHeader(view, offset);
  if (h.format === BigInt(HvGenericSetFormat.ALL)) return { format: 'ALL', vps: 'all' };
  // Only the banks the input holds: the first `held` valid banks, in ascending order.
  const held = Math.max(0, Math.floor((view.byteLength - offset - HV_VP_SET_HEADER_BYTES) / 8));
  let mask = 0n;
  for (const bank of setBits(view, offset + 8).slice(0, held)) mask |= 1n << BigInt(bank);
  const vps = readSparseVpSet(view, offset, mask, new VpIndexSet()).toArray();
  return {
    format: h.format === BigInt(HvGenericSetFormat.SPARSE_4K) ? 'SPARSE_4K' : hex64(h.format),
    validBanksMask: hex64(h.validBanksMask),
    vps,
  };
}

/** The GVA ranges of a List call: each as its GVA, page count and page size, or the raw bad entry. */
function gvaRanges(view: DataView, first: number, count: number, extended: boolean): DetailValue[] {
  const out: DetailValue[] = [];
  for (let i = 0; i < count && first + 8 * (i + 1) <= view.byteLength; i++) {
    const entry = view.getBigUint64(first + 8 * i, true);
    const r = decodeGvaRange(entry, extended);
    out.push(r ? { gva: hex64(r.gva), pages: r.pages, pageBytes: r.pageBytes } : { invalid: hex64(entry) });
  }
  return out;
}

/** A decoder for one of the four flush calls. */
export function flushDecoder(ex: boolean, list: boolean): HypercallDecoder {
  return {
    input(v) {
      const input = v.input;
      const flags = input.getBigUint64(FlushInput.flags, true);
      const targets =
        (flags & HV_FLUSH_ALL_PROCESSORS) !== 0n
          ? { vps: 'all' as const }
          : ex
            ? describeVpSet(input, FlushExInput.vpSet)
            : {
                processorMask: hex64(input.getBigUint64(FlushInput.processorMask, true)),
                vps: setBits(input, FlushInput.processorMask),
              };
      const first = (ex ? FlushExInput.fixedBytes : FlushInput.bytes) + v.variableHeaderBytes;
      return {
        addressSpace: hex64(input.getBigUint64(FlushInput.addressSpace, true)),
        flags: flagNames(flags),
        ...targets,
        ...(list
          ? {
              gvaRanges: gvaRanges(
                input,
                first,
                v.control.repCount,
                (flags & HV_FLUSH_USE_EXTENDED_RANGE_FORMAT) !== 0n,
              ),
            }
          : {}),
      };
    },
  };
}

export const ipiDecoder: HypercallDecoder = {
  input: (v) => ({
    vector: hex64(v.input.getUint32(IpiInput.vector, true)),
    targetVtl: v.input.getUint8(IpiInput.targetVtl),
    processorMask: hex64(v.input.getBigUint64(IpiInput.processorMask, true)),
    vps: setBits(v.input, IpiInput.processorMask),
  }),
};

export const ipiExDecoder: HypercallDecoder = {
  input: (v) => ({
    vector: hex64(v.input.getUint32(IpiExInput.vector, true)),
    targetVtl: v.input.getUint8(IpiExInput.targetVtl),
    ...describeVpSet(v.input, IpiExInput.vpSet),
  }),
};

/** Spec 02 rule 11's reason: the banks the mask names against the variable header's size. */
export function bankMismatch(banks: number, variableHeaderBytes: number): string {
  return `ValidBanksMask names ${banks} bank(s) but VariableHeaderSize is ${variableHeaderBytes / 8} (spec 02 rule 11)`;
}
