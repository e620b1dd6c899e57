import { HvCallCode, type HvStatusCode } from '@pvlab/hypercall';
import type { GuestContext, GuestHypercalls } from '@pvlab/hypercall/guest';
import { HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF } from '../wire/ids.js';
import {
  EnablePartitionVtlInput,
  EnableVpVtlInput,
  HvEnablePartitionVtlFlags,
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
  const bytes = new Uint8Array(EnablePartitionVtlInput.bytes);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(EnablePartitionVtlInput.partitionId, HV_PARTITION_ID_SELF, true);
  view.setUint8(EnablePartitionVtlInput.targetVtl, targetVtl);
  const f = HvEnablePartitionVtlFlags.encode({
    EnableMbec: flags.enableMbec ? 1 : 0,
    EnableSupervisorShadowStack: flags.supervisorShadowStack ? 1 : 0,
    EnableHardwareHvpt: flags.hardwareHvpt ? 1 : 0,
  });
  view.setUint8(EnablePartitionVtlInput.flags, Number(f));
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
  const bytes = new Uint8Array(EnableVpVtlInput.bytes);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(EnableVpVtlInput.partitionId, HV_PARTITION_ID_SELF, true);
  view.setUint32(EnableVpVtlInput.vpIndex, options.vpIndex ?? HV_VP_INDEX_SELF, true);
  view.setUint8(EnableVpVtlInput.targetVtl, targetVtl);
  if (options.context !== undefined) {
    if (options.context.length !== EnableVpVtlInput.bytes - EnableVpVtlInput.context) {
      throw new RangeError(
        `enableVpVtl context of ${options.context.length} bytes: the x64 context is 224 bytes`,
      );
    }
    bytes.set(options.context, EnableVpVtlInput.context);
  }
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
