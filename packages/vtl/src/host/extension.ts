import type { HvFeatureName } from '@pvlab/hypercall';
import type { HostExtension, HypercallDescriptor } from '@pvlab/hypercall/host';
import { enablePartitionVtl, enableVpVtl } from './enable.js';
import { vtlSnapshotPart } from './snapshot.js';
import {
  resolveVtlOptions,
  VTL_PACKAGE,
  VTL_STATE,
  type VtlHostOptions,
  VtlHostState,
  vtlHostState,
} from './state.js';
import { getVpRegisters, setVpRegisters } from './vp-registers.js';
import { vtlCall, vtlReturn } from './vtl-call.js';

/** Feature bits the package exposes by default: the privileges that open its six calls. */
export const VTL_FEATURES: readonly HvFeatureName[] = ['AccessVsm', 'AccessVpRegisters'];

/**
 * The vtl host side as a `HostExtension`: registers HvCallGetVpRegisters (0x0050),
 * HvCallSetVpRegisters (0x0051), HvCallEnablePartitionVtl (0x000D), HvCallEnableVpVtl (0x000F),
 * HvCallVtlCall (0x0011) and HvCallVtlReturn (0x0012), keeps its `VtlHostState` under `VTL_STATE`,
 * and keeps each VP's TLB lock in the core (`partition.setTlbLocked`), where the flushes of
 * `@pvlab/tlb-ipi` read it whatever the install order. Bad options throw a RangeError.
 */
export function vtlExtension(options: VtlHostOptions = {}): HostExtension {
  // Validate now, so that a bad option fails where it is written.
  const resolved = resolveVtlOptions(options);
  return {
    name: VTL_PACKAGE,
    features: VTL_FEATURES,
    install(partition) {
      const state = new VtlHostState(partition, resolved);
      partition.setExtensionState(VTL_STATE, state);
      const descriptors: HypercallDescriptor[] = [
        enablePartitionVtl(state),
        enableVpVtl(state),
        vtlCall(partition, state),
        vtlReturn(partition, state),
        getVpRegisters(state),
        setVpRegisters(state),
      ];
      for (const d of descriptors) partition.dispatcher.register(d);
    },
    snapshotPart: (partition) => vtlSnapshotPart(vtlHostState(partition)),
  };
}
