import { HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import {
  defineHypercall,
  type RepHypercallCall,
  type RepHypercallDescriptor,
  type RepOutcome,
  requireFeatures,
} from '@pvlab/hypercall/host';
import { selectInputVtl } from '../wire/input-vtl.js';
import {
  GetVpRegistersInput,
  GetVpRegistersInputElement,
  GetVpRegistersOutputElement,
  readRegisterValue,
  readVpRegistersHeader,
  SetVpRegistersInput,
  SetVpRegistersInputElement,
  writeRegisterValue,
} from '../wire/vp-registers.js';
import { checkPartitionId, resolveVpIndex } from './common.js';
import { getVpRegistersDecoder, registerRefusal, setVpRegistersDecoder } from './describe.js';
import { readVpRegister, writeVpRegister } from './register-file.js';
import type { VtlHostState } from './state.js';

/** Spec 03 rule 1: Get/SetVpRegisters need AccessVpRegisters (CPUID 0x40000003 EBX bit 17). */
const vpRegistersGate = requireFeatures('AccessVpRegisters');

const getName = GetVpRegistersInputElement.accessors.name;
const { name: setName, reserved: setReserved, value: setValue } = SetVpRegistersInputElement.accessors;

/** The VP and VTL a header names, or the status that refuses it. */
type Target = { readonly vp: number; readonly vtl: number } | HvStatusCode;

/**
 * The header checks of both calls, in this order: PartitionId (INVALID_PARTITION_ID), VpIndex
 * (INVALID_VP_INDEX), HV_INPUT_VTL and the RsvdZ bytes (INVALID_PARAMETER, rule 2), a VTL above
 * the caller's (ACCESS_DENIED: a lower VTL cannot see a higher VTL's state), a VTL not enabled on
 * the target VP (INVALID_VTL_STATE).
 */
function target(state: VtlHostState, call: RepHypercallCall): Target {
  const h = readVpRegistersHeader(call.input);
  const badPartition = checkPartitionId(h.partitionId);
  if (badPartition !== undefined) return call.fail(badPartition, 'PartitionId is not HV_PARTITION_ID_SELF');
  const vp = resolveVpIndex(state, call.vp, h.vpIndex);
  if (vp === undefined) return call.fail(HvStatus.INVALID_VP_INDEX, `VpIndex ${h.vpIndex} names no VP`);
  const callerVtl = state.activeVtl(call.vp);
  const vtl = selectInputVtl(h.inputVtl, callerVtl, state.maximumVtl);
  if (vtl === undefined)
    return call.fail(HvStatus.INVALID_PARAMETER, 'HV_INPUT_VTL names no VTL of this partition');
  if (h.reserved !== 0) return call.fail(HvStatus.INVALID_PARAMETER, 'RsvdZ header bytes set');
  if (vtl > callerVtl)
    return call.fail(
      HvStatus.ACCESS_DENIED,
      `VTL${vtl} is above the caller's VTL${callerVtl} (spec 03 rule 2)`,
    );
  if (!state.isVpVtlEnabled(vp, vtl))
    return call.fail(HvStatus.INVALID_VTL_STATE, `VTL${vtl} is not enabled on VP ${vp}`);
  return { vp, vtl };
}

/**
 * HvCallGetVpRegisters (0x0050, rep): 16-byte header, 4-byte register names, 16-byte values out.
 * An element that fails stops the call there: RepsCompleted counts the values written before it.
 */
export function getVpRegisters(state: VtlHostState): RepHypercallDescriptor {
  return defineHypercall({
    kind: 'rep',
    call: 'HvCallGetVpRegisters',
    input: GetVpRegistersInput,
    inputElement: GetVpRegistersInputElement,
    outputElement: GetVpRegistersOutputElement,
    fast: 'xmm',
    gate: vpRegistersGate,
    describe: getVpRegistersDecoder,
    handler(call): RepOutcome {
      const t = target(state, call);
      if (typeof t === 'number') return { status: t, repsCompleted: call.repStart };
      const who = { callerVtl: state.activeVtl(call.vp) };
      for (let i = call.repStart; i < call.repEnd; i++) {
        const name = getName.get(call.input, call.inputElementOffset(i));
        const r = readVpRegister(state, t.vp, t.vtl, name, who);
        if (r.status !== HvStatus.SUCCESS)
          return { status: call.fail(r.status, registerRefusal(r.status, name, false)), repsCompleted: i };
        writeRegisterValue(call.output, call.outputElementOffset(i), r.value);
      }
      return { status: HvStatus.SUCCESS, repsCompleted: call.repEnd };
    },
  });
}

/**
 * HvCallSetVpRegisters (0x0051, rep): 16-byte header, 32-byte elements (u32 name, 12 B RsvdZ,
 * 16 B value), no output. Elements before a failing one are written (RepsCompleted counts them).
 */
export function setVpRegisters(state: VtlHostState): RepHypercallDescriptor {
  return defineHypercall({
    kind: 'rep',
    call: 'HvCallSetVpRegisters',
    input: SetVpRegistersInput,
    inputElement: SetVpRegistersInputElement,
    fast: 'xmm',
    gate: vpRegistersGate,
    describe: setVpRegistersDecoder,
    handler(call): RepOutcome {
      const t = target(state, call);
      if (typeof t === 'number') return { status: t, repsCompleted: call.repStart };
      const who = { callerVtl: state.activeVtl(call.vp) };
      const input = call.input;
      for (let i = call.repStart; i < call.repEnd; i++) {
        const at = call.inputElementOffset(i);
        if (!setReserved.isZero(input, at))
          return {
            status: call.fail(HvStatus.INVALID_PARAMETER, `element ${i}: RsvdZ bytes set`),
            repsCompleted: i,
          };
        const name = setName.get(input, at);
        const value = readRegisterValue(input, at + setValue.offset);
        const status = writeVpRegister(state, t.vp, t.vtl, name, value, who);
        if (status !== HvStatus.SUCCESS)
          return { status: call.fail(status, registerRefusal(status, name, true)), repsCompleted: i };
      }
      return { status: HvStatus.SUCCESS, repsCompleted: call.repEnd };
    },
  });
}
