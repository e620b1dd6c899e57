import { HvStatus } from '@pvlab/hypercall';
import {
  defineHypercall,
  type HvPartition,
  requireFeatures,
  type SimpleHypercallDescriptor,
} from '@pvlab/hypercall/host';
import {
  HV_IPI_MAX_VECTOR,
  HV_IPI_MIN_VECTOR,
  SendSyntheticClusterIpiExInput,
  SendSyntheticClusterIpiInput,
} from '../wire/ipi.js';
import { HvGenericSetFormat, readVpSetHeader } from '../wire/vp-set.js';
import { bankMismatch, ipiDecoder, ipiExDecoder } from './describe.js';
import type { TlbIpiHostState } from './state.js';

/** Spec 02 rule 9: 0x000B needs ClusterIpiRecommended (CPUID 0x40000004 EAX bit 10). */
const ipiGate = requireFeatures('ClusterIpiRecommended');
/** Spec 02 rule 9: 0x0015 also needs ExProcessorMasksRecommended (EAX bit 11). */
const ipiExGate = requireFeatures('ClusterIpiRecommended', 'ExProcessorMasksRecommended');

const ipi = SendSyntheticClusterIpiInput.accessors;
const ipiEx = SendSyntheticClusterIpiExInput.accessors;

/**
 * Checks the Vector and the TargetVtl/padding bytes shared by both IPI calls. pvlab models VTL 0
 * only, so bytes 4–7 (HV_INPUT_VTL, then flags or padding) must be zero.
 */
function ipiHeaderProblem(vector: number, vtlAndPaddingZero: boolean): string | undefined {
  if (vector < HV_IPI_MIN_VECTOR || vector > HV_IPI_MAX_VECTOR)
    return `Vector 0x${vector.toString(16)} is outside 0x10..0xff`;
  if (!vtlAndPaddingZero) return 'TargetVtl or the flag/padding bytes are not 0';
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
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallSendSyntheticClusterIpi',
    input: SendSyntheticClusterIpiInput,
    fast: 'register',
    gate: ipiGate,
    describe: ipiDecoder,
    handler(call) {
      const input = call.input;
      const vector = ipi.vector.get(input);
      const zero = (ipi.targetVtl.get(input) | ipi.flags.get(input) | ipi.reserved.get(input)) === 0;
      const problem = ipiHeaderProblem(vector, zero);
      if (problem !== undefined) return call.fail(HvStatus.INVALID_PARAMETER, problem);
      const targets = state.targets;
      targets.clear();
      targets.addBank(0, ipi.processorMask.getLow(input), ipi.processorMask.getHigh(input));
      deliver(partition, state, vector);
      return HvStatus.SUCCESS;
    },
  });
}

/**
 * HvCallSendSyntheticClusterIpiEx (0x0015, simple + HV_VP_SET banks as variable header, XMM
 * fast): a fixed interrupt to each VP of the set; HV_GENERIC_SET_ALL targets every VP.
 */
export function sendSyntheticClusterIpiEx(
  partition: HvPartition,
  state: TlbIpiHostState,
): SimpleHypercallDescriptor {
  return defineHypercall({
    kind: 'simple',
    call: 'HvCallSendSyntheticClusterIpiEx',
    input: SendSyntheticClusterIpiExInput,
    variableHeader: true,
    fast: 'xmm',
    gate: ipiExGate,
    describe: ipiExDecoder,
    handler(call) {
      const input = call.input;
      const header = readVpSetHeader(input, ipiEx.vpSet.offset);
      // Spec 02 rule 11: VariableHeaderSize = popcount(ValidBanksMask), in every Format.
      if (8 * header.banks !== call.variableHeaderBytes)
        return call.fail(
          HvStatus.INVALID_HYPERCALL_INPUT,
          bankMismatch(header.banks, call.variableHeaderBytes),
        );
      const vector = ipiEx.vector.get(input);
      const zero = ipiEx.targetVtl.get(input) === 0 && ipiEx.reserved.isZero(input);
      const problem = ipiHeaderProblem(vector, zero);
      if (problem !== undefined) return call.fail(HvStatus.INVALID_PARAMETER, problem);
      const targets = state.targets;
      targets.clear();
      if (header.format === BigInt(HvGenericSetFormat.ALL)) targets.addAll();
      else if (header.format === BigInt(HvGenericSetFormat.SPARSE_4K))
        targets.addSparseSet(input, ipiEx.vpSet.offset, header.validBanksMask);
      else
        return call.fail(
          HvStatus.INVALID_PARAMETER,
          `HV_VP_SET Format 0x${header.format.toString(16)} is neither SPARSE_4K nor ALL`,
        );
      deliver(partition, state, vector);
      return HvStatus.SUCCESS;
    },
  });
}
