import { HvCallCode, HvStatus, hvStatusName } from '@pvlab/hypercall';
import type { GuestContext, GuestHypercalls } from '@pvlab/hypercall/guest';
import { HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF } from '../wire/ids.js';
import { HV_INPUT_VTL_CURRENT } from '../wire/input-vtl.js';
import { HvRegisterName, HvVsmVpStatus } from '../wire/registers.js';
import {
  GetVpRegistersInput,
  GetVpRegistersInputElement,
  GetVpRegistersOutputElement,
  getVpRegistersInputBytes,
  writeVpRegistersHeader,
} from '../wire/vp-registers.js';

/**
 * Where `get_vtl()` puts its 16-byte output relative to its 20-byte input (spec 03 rules 6–7):
 * - `fixed` — the 2024 fix: the per-CPU output area (its own page in the `separate` layout);
 * - `split-page` — W. Liu's alternative: the same page as the input, at input + 2048;
 * - `array-helper` — the 2025 `hv_hvcall_inout_array` helper: input + ALIGN(16 + 4·1, 8) = +24;
 * - `overlap-bug` — the 2023 original: output == input (full overlap; strict mode flags it);
 * - `fixed-size-helper-bug` — the rejected 2025 v1: output right after the 16-byte header,
 *   overlapping `names[0]` at bytes 16–19.
 */
export type GetVtlLayout = 'fixed' | 'split-page' | 'array-helper' | 'overlap-bug' | 'fixed-size-helper-bug';

/** The accepted `GetVtlLayout` values. */
export const GET_VTL_LAYOUTS: readonly GetVtlLayout[] = [
  'fixed',
  'split-page',
  'array-helper',
  'overlap-bug',
  'fixed-size-helper-bug',
];

/** Linux's `BUG()` in `get_vtl()`: the hypercall failed. */
export class GetVtlError extends Error {
  override readonly name = 'GetVtlError';
}

/** The output GPA a layout uses for an input at `inputGpa` on a CPU with these areas. */
export function getVtlOutputGpa(hc: GuestHypercalls, layout: GetVtlLayout): bigint {
  const input = hc.pages.inputGpa;
  switch (layout) {
    case 'fixed':
      return hc.pages.outputGpa;
    case 'split-page':
      return input + 2048n;
    case 'array-helper':
      return input + BigInt(getVpRegistersInputBytes(1));
    case 'overlap-bug':
      return input;
    case 'fixed-size-helper-bug':
      return input + BigInt(GetVpRegistersInput.size);
    default:
      throw new RangeError(`get_vtl layout '${String(layout)}': use ${GET_VTL_LAYOUTS.join(', ')}`);
  }
}

/**
 * Linux `get_vtl()` (drivers/hv/hv_common.c, spec 03 rule 5): rep HvCallGetVpRegisters, count 1,
 * SELF/SELF, InputVtl 0, name HvRegisterVsmVpStatus; the VTL is the output's low byte & 0xF.
 * Without CONFIG_HYPERV_VTL_MODE (`vtlMode: false`) it is the constant 0 and issues nothing.
 * A failed call throws `GetVtlError` (Linux BUG()s).
 */
export function getVtl(
  ctx: GuestContext,
  hc: GuestHypercalls,
  options: { layout?: GetVtlLayout; vtlMode?: boolean } = {},
): number {
  if (options.vtlMode === false) return 0;
  const layout = options.layout ?? 'fixed';
  const outputGpa = getVtlOutputGpa(hc, layout);
  const input = new Uint8Array(getVpRegistersInputBytes(1));
  const view = new DataView(input.buffer);
  writeVpRegistersHeader(view, 0, {
    partitionId: HV_PARTITION_ID_SELF,
    vpIndex: HV_VP_INDEX_SELF,
    inputVtl: HV_INPUT_VTL_CURRENT,
  });
  GetVpRegistersInputElement.accessors.name.set(view, HvRegisterName.VsmVpStatus, GetVpRegistersInput.size);
  hc.writeInput(input);
  const r = hc.repCall(HvCallCode.HvCallGetVpRegisters, 1, { outputGpa });
  if (r.status !== HvStatus.SUCCESS || r.repsCompleted !== 1) {
    throw new GetVtlError(
      `get_vtl: HvCallGetVpRegisters(HvRegisterVsmVpStatus) failed with ${hvStatusName(r.status)}`,
    );
  }
  // Linux keeps the output's low byte: HV_REGISTER_VALUE's low quadword, bits 7:0.
  const { low64 } = GetVpRegistersOutputElement.accessors;
  const out = ctx.memory.read(outputGpa + BigInt(low64.offset), low64.bytes);
  const value = low64.get(new DataView(out.buffer, out.byteOffset, out.byteLength));
  return HvVsmVpStatus.decode(BigInt.asUintN(8, value)).ActiveVtl;
}
