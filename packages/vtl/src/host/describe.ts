import { HvStatus, type HvStatusCode } from '@pvlab/hypercall';
import { type DescribeView, type DetailFields, type HypercallDecoder, hex64 } from '@pvlab/hypercall/host';
import { HV_VP_INDEX_SELF } from '../wire/ids.js';
import { hvRegisterName } from '../wire/registers.js';
import {
  GetVpRegistersInput,
  GetVpRegistersInputElement,
  GetVpRegistersOutputElement,
  readRegisterValue,
  readVpRegistersHeader,
  SetVpRegistersInput,
  SetVpRegistersInputElement,
} from '../wire/vp-registers.js';
import { EnablePartitionVtlInput, EnableVpVtlInput } from '../wire/vtl-management.js';

const getName = GetVpRegistersInputElement.accessors.name;
const { name: setName, value: setValue } = SetVpRegistersInputElement.accessors;

/** A VpIndex field: HV_VP_INDEX_SELF as `self`. */
function vpIndexArg(vpIndex: number): number | 'self' {
  return vpIndex === HV_VP_INDEX_SELF ? 'self' : vpIndex;
}

/** The Get/SetVpRegisters header as trace fields. */
function header(view: DescribeView): DetailFields {
  const h = readVpRegistersHeader(view.input);
  return {
    partitionId: hex64(h.partitionId),
    vpIndex: vpIndexArg(h.vpIndex),
    inputVtl: hex64(h.inputVtl),
  };
}

/** The elements [from, to) that fit `view` (a slice cut short never reads past the list). */
function elements(view: DataView, first: number, size: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to && first + (i + 1) * size <= view.byteLength; i++) out.push(first + i * size);
  return out;
}

/** HvCallGetVpRegisters: the register names asked for; out, each name with its value. */
export const getVpRegistersDecoder: HypercallDecoder = {
  input: (v) => ({
    ...header(v),
    registers: elements(
      v.input,
      GetVpRegistersInput.size,
      GetVpRegistersInputElement.size,
      0,
      v.control.repCount,
    ).map((at) => hvRegisterName(getName.get(v.input, at))),
  }),
  output: (v) => ({
    values: elements(
      v.output,
      0,
      GetVpRegistersOutputElement.size,
      v.control.repStartIndex,
      v.repsCompleted,
    ).map((at, k) => ({
      name: hvRegisterName(
        getName.get(
          v.input,
          GetVpRegistersInput.size + (v.control.repStartIndex + k) * GetVpRegistersInputElement.size,
        ),
      ),
      value: hex64(readRegisterValue(v.output, at)),
    })),
  }),
};

/** HvCallSetVpRegisters: each register name with the value written. */
export const setVpRegistersDecoder: HypercallDecoder = {
  input: (v) => ({
    ...header(v),
    registers: elements(
      v.input,
      SetVpRegistersInput.size,
      SetVpRegistersInputElement.size,
      0,
      v.control.repCount,
    ).map((at) => ({
      name: hvRegisterName(setName.get(v.input, at)),
      value: hex64(readRegisterValue(v.input, at + setValue.offset)),
    })),
  }),
};

const partitionVtl = EnablePartitionVtlInput.accessors;
const vpVtl = EnableVpVtlInput.accessors;

export const enablePartitionVtlDecoder: HypercallDecoder = {
  input: (v) => ({
    partitionId: hex64(partitionVtl.partitionId.get(v.input)),
    targetVtl: partitionVtl.targetVtl.get(v.input),
    flags: hex64(partitionVtl.flags.get(v.input)),
  }),
};

export const enableVpVtlDecoder: HypercallDecoder = {
  input: (v) => ({
    partitionId: hex64(vpVtl.partitionId.get(v.input)),
    vpIndex: vpIndexArg(vpVtl.vpIndex.get(v.input)),
    targetVtl: vpVtl.targetVtl.get(v.input),
  }),
};

/** Why a register access was refused (the register file's checks, by the status they give). */
export function registerRefusal(status: HvStatusCode, name: number, write: boolean): string {
  const reg = hvRegisterName(name);
  if (status === HvStatus.ACCESS_DENIED)
    return write
      ? `${reg} is read-only, needs AccessVsm, or may not be written from the caller's VTL`
      : `${reg} needs AccessVsm, which is not exposed`;
  if (status === HvStatus.INVALID_PARAMETER)
    return write
      ? `${reg}: the value sets reserved bits, or the register is not visible in that VTL`
      : `${reg} is not visible in that VTL`;
  return `${reg} is not a register pvlab models`;
}
