import { HvStatus } from '@pvlab/hypercall';
import { defineHypercall, requireFeatures, type SimpleHypercallDescriptor } from '@pvlab/hypercall/host';
import {
  EnablePartitionVtlInput,
  EnableVpVtlInput,
  HvEnablePartitionVtlFlags,
} from '../wire/vtl-management.js';
import { checkPartitionId, highestBelow, resolveVpIndex } from './common.js';
import { enablePartitionVtlDecoder, enableVpVtlDecoder } from './describe.js';
import type { VtlHostState } from './state.js';

/** The VSM calls need AccessVsm (CPUID 0x40000003 EBX bit 16). */
export const vsmGate = requireFeatures('AccessVsm');

const partitionVtlInput = EnablePartitionVtlInput.accessors;
const vpVtlInput = EnableVpVtlInput.accessors;

/**
 * HvCallEnablePartitionVtl (0x000D, simple, 16 bytes in, no output). Checks in order:
 * PartitionId (INVALID_PARTITION_ID); Flags RsvdZ, the 6 RsvdZ bytes, TargetVtl above the
 * maximum (INVALID_PARAMETER); already enabled (VTL_ALREADY_ENABLED); spec 03 rule 4 — a VTL may
 * enable a lower one, or a higher one only when it is the highest enabled VTL below the target
 * (ACCESS_DENIED).
 */
export function enablePartitionVtl(state: VtlHostState): SimpleHypercallDescriptor {
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallEnablePartitionVtl',
    input: EnablePartitionVtlInput,
    fast: 'register',
    gate: vsmGate,
    describe: enablePartitionVtlDecoder,
    handler(call) {
      const input = call.input;
      const bad = checkPartitionId(partitionVtlInput.partitionId.get(input));
      if (bad !== undefined) return call.fail(bad, 'PartitionId is not HV_PARTITION_ID_SELF');
      const vtl = partitionVtlInput.targetVtl.get(input);
      const flags = BigInt(partitionVtlInput.flags.get(input));
      if (HvEnablePartitionVtlFlags.reservedZeroBits(flags) !== 0n)
        return call.fail(HvStatus.INVALID_PARAMETER, 'reserved Flags bits set');
      if (!partitionVtlInput.reserved.isZero(input))
        return call.fail(HvStatus.INVALID_PARAMETER, 'RsvdZ bytes set');
      if (vtl > state.maximumVtl)
        return call.fail(
          HvStatus.INVALID_PARAMETER,
          `TargetVtl ${vtl} is above the maximum VTL ${state.maximumVtl}`,
        );
      if (state.isPartitionVtlEnabled(vtl))
        return call.fail(HvStatus.VTL_ALREADY_ENABLED, `VTL${vtl} is already enabled for the partition`);
      const caller = state.activeVtl(call.vp);
      if (vtl > caller && highestBelow(state.partitionEnabledVtls, vtl) !== caller) {
        return call.fail(HvStatus.ACCESS_DENIED, `VTL${caller} may not enable VTL${vtl} (spec 03 rule 4)`);
      }
      const f = HvEnablePartitionVtlFlags.decode(flags);
      state.partitionEnabledVtls |= 1 << vtl;
      if (f.EnableMbec === 1) state.mbecEnabledVtls |= 1 << vtl;
      if (f.EnableSupervisorShadowStack === 1) state.sssEnabledVtls |= 1 << vtl;
      state.emit({ kind: 'partition-vtl-enabled', vtl, by: call.vp });
      return HvStatus.SUCCESS;
    },
  });
}

/**
 * HvCallEnableVpVtl (0x000F, simple, 16 + 224 bytes in on x64, no output). Checks in order:
 * PartitionId (INVALID_PARTITION_ID); VpIndex, HV_VP_INDEX_SELF accepted (INVALID_VP_INDEX); the
 * RsvdZ bytes and TargetVtl above the maximum (INVALID_PARAMETER); the VTL not enabled for the
 * partition (INVALID_VTL_STATE); already enabled on the VP (VTL_ALREADY_ENABLED); spec 03
 * rule 4 — enabled by an equal or higher VTL, or by the highest partition VTL below the target
 * (ACCESS_DENIED). The initial context is kept, not interpreted. The active VTL does not change.
 */
export function enableVpVtl(state: VtlHostState): SimpleHypercallDescriptor {
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallEnableVpVtl',
    input: EnableVpVtlInput,
    gate: vsmGate,
    describe: enableVpVtlDecoder,
    handler(call) {
      const input = call.input;
      const bad = checkPartitionId(vpVtlInput.partitionId.get(input));
      if (bad !== undefined) return call.fail(bad, 'PartitionId is not HV_PARTITION_ID_SELF');
      const vpIndex = vpVtlInput.vpIndex.get(input);
      const vp = resolveVpIndex(state, call.vp, vpIndex);
      if (vp === undefined) return call.fail(HvStatus.INVALID_VP_INDEX, `VpIndex ${vpIndex} names no VP`);
      const vtl = vpVtlInput.targetVtl.get(input);
      if (!vpVtlInput.reserved.isZero(input)) return call.fail(HvStatus.INVALID_PARAMETER, 'RsvdZ bytes set');
      if (vtl > state.maximumVtl)
        return call.fail(
          HvStatus.INVALID_PARAMETER,
          `TargetVtl ${vtl} is above the maximum VTL ${state.maximumVtl}`,
        );
      if (!state.isPartitionVtlEnabled(vtl))
        return call.fail(HvStatus.INVALID_VTL_STATE, `VTL${vtl} is not enabled for the partition`);
      if (state.isVpVtlEnabled(vp, vtl))
        return call.fail(HvStatus.VTL_ALREADY_ENABLED, `VTL${vtl} is already enabled on VP ${vp}`);
      const caller = state.activeVtl(call.vp);
      if (vtl > caller && highestBelow(state.partitionEnabledVtls, vtl) !== caller) {
        return call.fail(
          HvStatus.ACCESS_DENIED,
          `VTL${caller} may not enable VTL${vtl} on a VP (spec 03 rule 4)`,
        );
      }
      const s = state.vp(vp);
      s.enabledVtls |= 1 << vtl;
      // Kept as bytes, not interpreted: the context's offset and size come from the struct.
      const at = input.byteOffset + vpVtlInput.context.offset;
      s.registers(vtl).initialContext = new Uint8Array(input.buffer.slice(at, at + vpVtlInput.context.bytes));
      state.emit({ kind: 'vp-vtl-enabled', vp, vtl, by: call.vp });
      return HvStatus.SUCCESS;
    },
  });
}
