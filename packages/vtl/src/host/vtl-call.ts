import { GuestFault, HvStatus } from '@pvlab/hypercall';
import { defineHypercall, type HvPartition, type SimpleHypercallDescriptor } from '@pvlab/hypercall/host';
import { HvVtlCallInput, HvVtlReturnInput } from '../wire/vtl-management.js';
import { highestBelow, lowestAbove } from './common.js';
import { vsmGate } from './enable.js';
import type { VtlHostState } from './state.js';

/**
 * HvCallVtlCall (0x0011): no memory parameters, VTL input in RAX (`HvVpState.rax`). Spec 03
 * rule 3: the control word must be the bare call code and RAX must be 0, else #UD (the
 * dispatcher checks the control: `exactControl`). The VP switches to the lowest VTL enabled on
 * it above its current one; with none, #UD. No status is written by the hypervisor: pvlab's
 * dispatcher returns 0.
 */
export function vtlCall(partition: HvPartition, state: VtlHostState): SimpleHypercallDescriptor {
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallVtlCall',
    exactControl: true,
    gate: vsmGate,
    handler(call) {
      const rax = partition.vp(call.vp).rax;
      if (HvVtlCallInput.reservedZeroBits(rax) !== 0n) {
        throw new GuestFault(
          'UD',
          `HvCallVtlCall from VP ${call.vp} with RAX 0x${rax.toString(16)}: RAX must be 0`,
        );
      }
      const s = state.vp(call.vp);
      const from = s.activeVtl;
      const to = lowestAbove(s.enabledVtls, from, state.maximumVtl);
      if (to < 0) {
        throw new GuestFault(
          'UD',
          `HvCallVtlCall from VP ${call.vp} in VTL${from}: no higher VTL is enabled on it`,
        );
      }
      s.callStack.push(from);
      s.activeVtl = to;
      state.emit({ kind: 'vtl-switch', vp: call.vp, from, to, via: 'vtl-call', fast: false });
      return HvStatus.SUCCESS;
    },
  });
}

/**
 * HvCallVtlReturn (0x0012): RAX bit 0 = FastReturn, every other bit 0, and the bare call code,
 * else #UD (spec 03 rule 3). Returns to the VTL the matching VtlCall came from, or — entered
 * otherwise — to the highest VTL enabled on the VP below the current one; from VTL0, #UD.
 */
export function vtlReturn(partition: HvPartition, state: VtlHostState): SimpleHypercallDescriptor {
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallVtlReturn',
    exactControl: true,
    gate: vsmGate,
    handler(call) {
      const rax = partition.vp(call.vp).rax;
      if (HvVtlReturnInput.reservedZeroBits(rax) !== 0n) {
        throw new GuestFault(
          'UD',
          `HvCallVtlReturn from VP ${call.vp} with RAX 0x${rax.toString(16)}: only bit 0 (FastReturn) may be set`,
        );
      }
      const s = state.vp(call.vp);
      const from = s.activeVtl;
      const to = s.callStack.pop() ?? highestBelow(s.enabledVtls, from);
      if (to < 0)
        throw new GuestFault('UD', `HvCallVtlReturn from VP ${call.vp} in VTL0: there is no lower VTL`);
      s.activeVtl = to;
      const fast = HvVtlReturnInput.decode(rax).FastReturn === 1;
      state.emit({ kind: 'vtl-switch', vp: call.vp, from, to, via: 'vtl-return', fast });
      return HvStatus.SUCCESS;
    },
  });
}
