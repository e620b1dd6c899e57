import {
  type DetailFields,
  type DetailValue,
  type HypercallDecoder,
  hex64,
  setBits,
} from '@pvlab/hypercall/host';
import {
  decodeGvaRange,
  FlushVirtualAddressListInputElement,
  FlushVirtualAddressSpaceExInput,
  FlushVirtualAddressSpaceInput,
  HV_FLUSH_ALL_PROCESSORS,
  HV_FLUSH_ALL_VIRTUAL_ADDRESS_SPACES,
  HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
  HV_FLUSH_USE_EXTENDED_RANGE_FORMAT,
} from '../wire/flush.js';
import { SendSyntheticClusterIpiExInput, SendSyntheticClusterIpiInput } from '../wire/ipi.js';
import {
  HV_VP_SET_BANK_BYTES,
  HvGenericSetFormat,
  HvVpSetHeader,
  readSparseVpSet,
  readVpSetHeader,
  VpIndexSet,
  vpSetBankOffset,
} from '../wire/vp-set.js';

const gvaRange = FlushVirtualAddressListInputElement.accessors.gvaRange;
const validBanksMask = HvVpSetHeader.accessors.validBanksMask;

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
  const held = Math.max(0, Math.floor((view.byteLength - vpSetBankOffset(offset, 0)) / HV_VP_SET_BANK_BYTES));
  let mask = 0n;
  for (const bank of setBits(view, offset + validBanksMask.offset).slice(0, held)) mask |= 1n << BigInt(bank);
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
  const size = FlushVirtualAddressListInputElement.size;
  for (let i = 0; i < count && first + size * (i + 1) <= view.byteLength; i++) {
    const entry = gvaRange.get(view, first + size * i);
    const r = decodeGvaRange(entry, extended);
    out.push(r ? { gva: hex64(r.gva), pages: r.pages, pageBytes: r.pageBytes } : { invalid: hex64(entry) });
  }
  return out;
}

const flushHeader = FlushVirtualAddressSpaceInput.accessors;
const flushExHeader = FlushVirtualAddressSpaceExInput.accessors;

/** A decoder for one of the four flush calls. */
export function flushDecoder(ex: boolean, list: boolean): HypercallDecoder {
  const fields = ex ? flushExHeader : flushHeader;
  const headerBytes = ex ? FlushVirtualAddressSpaceExInput.size : FlushVirtualAddressSpaceInput.size;
  return {
    input(v) {
      const input = v.input;
      const flags = fields.flags.get(input);
      const targets =
        (flags & HV_FLUSH_ALL_PROCESSORS) !== 0n
          ? { vps: 'all' as const }
          : ex
            ? describeVpSet(input, flushExHeader.vpSet.offset)
            : {
                processorMask: hex64(flushHeader.processorMask.get(input)),
                vps: setBits(input, flushHeader.processorMask.offset),
              };
      const first = headerBytes + v.variableHeaderBytes;
      return {
        addressSpace: hex64(fields.addressSpace.get(input)),
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

const ipi = SendSyntheticClusterIpiInput.accessors;
const ipiEx = SendSyntheticClusterIpiExInput.accessors;

export const ipiDecoder: HypercallDecoder = {
  input: (v) => ({
    vector: hex64(ipi.vector.get(v.input)),
    targetVtl: ipi.targetVtl.get(v.input),
    processorMask: hex64(ipi.processorMask.get(v.input)),
    vps: setBits(v.input, ipi.processorMask.offset),
  }),
};

export const ipiExDecoder: HypercallDecoder = {
  input: (v) => ({
    vector: hex64(ipiEx.vector.get(v.input)),
    targetVtl: ipiEx.targetVtl.get(v.input),
    ...describeVpSet(v.input, ipiEx.vpSet.offset),
  }),
};

/** Spec 02 rule 11's reason: the banks the mask names against the variable header's size. */
export function bankMismatch(banks: number, variableHeaderBytes: number): string {
  return `ValidBanksMask names ${banks} bank(s) but VariableHeaderSize is ${variableHeaderBytes / 8} (spec 02 rule 11)`;
}
