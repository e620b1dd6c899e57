import { HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import { HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF } from '../wire/ids.js';
import type { VtlHostState } from './state.js';

/**
 * A partition id the caller may name: only HV_PARTITION_ID_SELF (a guest is nobody's parent, and
 * pvlab gives the partition no other id) → else INVALID_PARTITION_ID (spec 03 rule 1).
 */
export function checkPartitionId(id: bigint): HvStatusCode | undefined {
  return id === HV_PARTITION_ID_SELF ? undefined : HvStatus.INVALID_PARTITION_ID;
}

/** The VP a VpIndex names for caller `vp` (HV_VP_INDEX_SELF = the caller), or `undefined`. */
export function resolveVpIndex(state: VtlHostState, caller: number, vpIndex: number): number | undefined {
  if (vpIndex === HV_VP_INDEX_SELF) return caller;
  return vpIndex < state.vps.length ? vpIndex : undefined;
}

/** The VTL below `vtl` that is highest in `mask`, or -1. */
export function highestBelow(mask: number, vtl: number): number {
  for (let v = vtl - 1; v >= 0; v--) if (((mask >>> v) & 1) === 1) return v;
  return -1;
}

/** The VTL above `vtl` that is lowest in `mask`, or -1. */
export function lowestAbove(mask: number, vtl: number, max: number): number {
  for (let v = vtl + 1; v <= max; v++) if (((mask >>> v) & 1) === 1) return v;
  return -1;
}
