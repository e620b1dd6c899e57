import { HvCallCode, type HvStatusCode } from '@pvlab/hypercall';
import type { GuestContext, GuestHypercalls } from '@pvlab/hypercall/guest';
import { HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF } from '../wire/ids.js';
import {
  EnablePartitionVtlInput,
  EnableVpVtlInput,
  HvEnablePartitionVtlFlags,
  InitialVpContextX64,
} from '../wire/vtl-management.js';

/**
 * HvCallEnablePartitionVtl for the caller's partition. Returns the status; like Linux VTL2
 * (`hv_vtl_enable...`), callers may treat VTL_ALREADY_ENABLED as success.
 */
export function enablePartitionVtl(
  hc: GuestHypercalls,
  targetVtl: number,
  flags: { enableMbec?: boolean; supervisorShadowStack?: boolean; hardwareHvpt?: boolean } = {},
): HvStatusCode {
  const f = HvEnablePartitionVtlFlags.encode({
    EnableMbec: flags.enableMbec ? 1 : 0,
    EnableSupervisorShadowStack: flags.supervisorShadowStack ? 1 : 0,
    EnableHardwareHvpt: flags.hardwareHvpt ? 1 : 0,
  });
  const bytes = EnablePartitionVtlInput.encode({
    partitionId: HV_PARTITION_ID_SELF,
    // A byte, as the guest's u8 store would truncate it.
    targetVtl: targetVtl & 0xff,
    flags: Number(f),
  });
  hc.writeInput(bytes);
  return hc.call(BigInt(HvCallCode.HvCallEnablePartitionVtl)).status;
}

/**
 * HvCallEnableVpVtl: enables `targetVtl` on `vpIndex` (HV_VP_INDEX_SELF by default) with the
 * 224-byte x64 initial context `context` (zeros by default).
 */
export function enableVpVtl(
  hc: GuestHypercalls,
  targetVtl: number,
  options: { vpIndex?: number; context?: Uint8Array } = {},
): HvStatusCode {
  if (options.context !== undefined && options.context.length !== InitialVpContextX64.size) {
    throw new RangeError(
      `enableVpVtl context of ${options.context.length} bytes: the x64 context is ${InitialVpContextX64.size} bytes`,
    );
  }
  const bytes = EnableVpVtlInput.encode({
    partitionId: HV_PARTITION_ID_SELF,
    vpIndex: (options.vpIndex ?? HV_VP_INDEX_SELF) >>> 0,
    targetVtl: targetVtl & 0xff,
  });
  if (options.context !== undefined) bytes.set(options.context, EnableVpVtlInput.offsetOf('context'));
  hc.writeInput(bytes);
  return hc.call(BigInt(HvCallCode.HvCallEnableVpVtl)).status;
}

/**
 * HvCallVtlCall: the bare call code, no memory parameters (RAX, the VTL input, must be 0 — a
 * `GuestCpu` leaves it 0). Throws GuestFault('UD') where the hypervisor injects #UD.
 */
export function vtlCall(ctx: GuestContext): void {
  ctx.cpu.hypercall(BigInt(HvCallCode.HvCallVtlCall), 0n, 0n);
}

/** HvCallVtlReturn (RAX 0: a normal return; FastReturn needs RAX bit 0, which `GuestCpu` cannot set). */
export function vtlReturn(ctx: GuestContext): void {
  ctx.cpu.hypercall(BigInt(HvCallCode.HvCallVtlReturn), 0n, 0n);
}
