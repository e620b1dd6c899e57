import { HvStatus } from '@pvlab/hypercall';
import { type HvPartition, requireFeatures, type SimpleHypercallDescriptor } from '@pvlab/hypercall/host';
import { HV_IPI_MAX_VECTOR, HV_IPI_MIN_VECTOR, IpiCallCode, IpiExInput, IpiInput } from '../wire/ipi.js';
import { HvGenericSetFormat, readVpSetHeader } from '../wire/vp-set.js';
import { bankMismatch, ipiDecoder, ipiExDecoder } from './describe.js';
import type { TlbIpiHostState } from './state.js';

/** Spec 02 rule 9: 0x000B needs ClusterIpiRecommended (CPUID 0x40000004 EAX bit 10). */
const ipiGate = requireFeatures('ClusterIpiRecommended');
/** Spec 02 rule 9: 0x0015 also needs ExProcessorMasksRecommended (EAX bit 11). */
const ipiExGate = requireFeatures('ClusterIpiRecommended', 'ExProcessorMasksRecommended');

/**
 * Checks the Vector and the TargetVtl/padding bytes shared by both IPI calls. pvlab models VTL 0
 * only, so bytes 4–7 (HV_INPUT_VTL, then flags or padding) must be zero.
 */
function ipiHeaderProblem(input: DataView): string | undefined {
  const vector = input.getUint32(IpiInput.vector, true);
  if (vector < HV_IPI_MIN_VECTOR || vector > HV_IPI_MAX_VECTOR)
    return `Vector 0x${vector.toString(16)} is outside 0x10..0xff`;
  if (input.getUint32(IpiInput.targetVtl, true) !== 0) return 'TargetVtl or the flag/padding bytes are not 0';
  return undefined;
}

/** Delivers `vector` to every collected target: pending on the VP, and a halted vCPU wakes. */
function deliver(partition: HvPartition, state: TlbIpiHostState, vector: number): void {
  const targets = state.targets;
  for (let t = 0; t < targets.length; t++) partition.deliverInterrupt(targets.vps[t]!, vector);
  state.counters.ipis++;
  state.counters.interruptsDelivered += targets.length;
}

/**
 * HvCallSendSyntheticClusterIpi (0x000B, simple, 16-byte input, register fast form only):
 * a fixed interrupt to each VP of ProcessorMask (VPs 0–63), the sender included if named.
 */
export function sendSyntheticClusterIpi(
  partition: HvPartition,
  state: TlbIpiHostState,
): SimpleHypercallDescriptor {
  return {
    kind: 'simple',
    code: IpiCallCode.HvCallSendSyntheticClusterIpi,
    name: 'HvCallSendSyntheticClusterIpi',
    fixedInputBytes: IpiInput.bytes,
    outputBytes: 0,
    fast: 'register',
    gate: ipiGate,
    describe: ipiDecoder,
    handler(call) {
      const input = call.input;
      const problem = ipiHeaderProblem(input);
      if (problem !== undefined) return call.fail(HvStatus.INVALID_PARAMETER, problem);
      const targets = state.targets;
      targets.clear();
      targets.addBank(
        0,
        input.getUint32(IpiInput.processorMask, true),
        input.getUint32(IpiInput.processorMask + 4, true),
      );
      deliver(partition, state, input.getUint32(IpiInput.vector, true));
      return HvStatus.SUCCESS;
    },
  };
}

/**
 * HvCallSendSyntheticClusterIpiEx (0x0015, simple + HV_VP_SET banks as variable header, XMM
 * fast): a fixed interrupt to each VP of the set; HV_GENERIC_SET_ALL targets every VP.
 */
export function sendSyntheticClusterIpiEx(
  partition: HvPartition,
  state: TlbIpiHostState,
): SimpleHypercallDescriptor {
  return {
    kind: 'simple',
    code: IpiCallCode.HvCallSendSyntheticClusterIpiEx,
    name: 'HvCallSendSyntheticClusterIpiEx',
    fixedInputBytes: IpiExInput.fixedBytes,
    variableHeader: true,
    outputBytes: 0,
    fast: 'xmm',
    gate: ipiExGate,
    describe: ipiExDecoder,
    handler(call) {
      const input = call.input;
      const header = readVpSetHeader(input, IpiExInput.vpSet);
      // Spec 02 rule 11: VariableHeaderSize = popcount(ValidBanksMask), in every Format.
      if (8 * header.banks !== call.variableHeaderBytes)
        return call.fail(
          HvStatus.INVALID_HYPERCALL_INPUT,
          bankMismatch(header.banks, call.variableHeaderBytes),
        );
      const problem = ipiHeaderProblem(input);
      if (problem !== undefined) return call.fail(HvStatus.INVALID_PARAMETER, problem);
      const targets = state.targets;
      targets.clear();
      if (header.format === BigInt(HvGenericSetFormat.ALL)) targets.addAll();
      else if (header.format === BigInt(HvGenericSetFormat.SPARSE_4K))
        targets.addSparseSet(input, IpiExInput.vpSet, header.validBanksMask);
      else
        return call.fail(
          HvStatus.INVALID_PARAMETER,
          `HV_VP_SET Format 0x${header.format.toString(16)} is neither SPARSE_4K nor ALL`,
        );
      deliver(partition, state, input.getUint32(IpiExInput.vector, true));
      return HvStatus.SUCCESS;
    },
  };
}
