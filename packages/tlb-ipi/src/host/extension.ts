import type { HvFeatureName } from '@pvlab/hypercall';
import type { HostExtension, HypercallDescriptor } from '@pvlab/hypercall/host';
import {
  flushVirtualAddressList,
  flushVirtualAddressListEx,
  flushVirtualAddressSpace,
  flushVirtualAddressSpaceEx,
} from './flush.js';
import { sendSyntheticClusterIpi, sendSyntheticClusterIpiEx } from './ipi.js';
import { tlbIpiSnapshotPart } from './snapshot.js';
import {
  TLB_FLUSH_MODES,
  TLB_IPI_PACKAGE,
  TLB_IPI_STATE,
  type TlbFlushMode,
  TlbIpiHostState,
  tlbIpiHostState,
} from './state.js';

/** Feature bits the package exposes by default: the recommendations that open its six calls. */
export const TLB_IPI_FEATURES: readonly HvFeatureName[] = [
  'RemoteTlbFlushRecommended',
  'ClusterIpiRecommended',
  'ExProcessorMasksRecommended',
  'ExtendedGvaRangesForFlush',
];

/** Options of the tlb-ipi host side. */
export interface TlbIpiHostOptions {
  /** How a flush changes a target's TLB (default `precise`). */
  readonly flush?: TlbFlushMode;
}

/**
 * The tlb-ipi host side as a `HostExtension`: registers the four flush calls (0x0002, 0x0003,
 * 0x0013, 0x0014) and the two synthetic IPI calls (0x000B, 0x0015), and keeps its state in the
 * partition under `tlb-ipi`. Throws a RangeError for an unknown flush mode (a host error).
 */
export function tlbIpiExtension(options: TlbIpiHostOptions = {}): HostExtension {
  const flushMode = options.flush ?? 'precise';
  if (!TLB_FLUSH_MODES.includes(flushMode)) {
    throw new RangeError(`tlb-ipi flush mode '${String(flushMode)}': use ${TLB_FLUSH_MODES.join(' or ')}`);
  }
  return {
    name: TLB_IPI_PACKAGE,
    features: TLB_IPI_FEATURES,
    install(partition) {
      const state = new TlbIpiHostState(partition.vps.length, flushMode);
      partition.setExtensionState(TLB_IPI_STATE, state);
      const descriptors: HypercallDescriptor[] = [
        flushVirtualAddressSpace(partition, state),
        flushVirtualAddressList(partition, state),
        sendSyntheticClusterIpi(partition, state),
        flushVirtualAddressSpaceEx(partition, state),
        flushVirtualAddressListEx(partition, state),
        sendSyntheticClusterIpiEx(partition, state),
      ];
      for (const d of descriptors) partition.dispatcher.register(d);
    },
    snapshotPart: (partition) => tlbIpiSnapshotPart(tlbIpiHostState(partition)),
  };
}
