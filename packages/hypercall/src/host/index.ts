export {
  type CallDiagnostic,
  type DescribeView,
  type DetailFields,
  type DetailValue,
  type HypercallDecoder,
  type HypercallDetail,
  hex64,
  setBits,
} from './call-detail.js';
export {
  buildHypercallRecord,
  type HypercallEnd,
  type HypercallRecord,
  type HypercallRecordFacts,
  hypercallRecordStatus,
} from './call-record.js';
export {
  type HypercallIo,
  type HypercallWordIo,
  X64HypercallRegisters,
} from './calling-convention.js';
export {
  memorySnapshotPart,
  partitionSnapshotPart,
  vcpuSnapshotPart,
} from './core-snapshot.js';
export { PartitionFeatures } from './cpuid.js';
export {
  defineHypercall,
  type HypercallCallName,
  type HypercallDefinition,
  type HypercallStruct,
  type RepHypercallDefinition,
  type SimpleHypercallDefinition,
} from './define-hypercall.js';
export {
  type FeatureView,
  type HypercallCall,
  type HypercallDescriptor,
  type HypercallGate,
  type RepHypercallCall,
  type RepHypercallDescriptor,
  type RepOutcome,
  requireFeatures,
  type SimpleHypercallDescriptor,
} from './descriptor.js';
export type { Diagnostic } from './diagnostic.js';
export {
  HostInvariantError,
  HypercallDispatcher,
} from './dispatcher.js';
export type { DispatcherEnvironment } from './dispatcher-environment.js';
export { notifyLongSpinWait } from './notify-long-spin-wait.js';
export { type DispatchOutcome, outcomeError } from './outcome.js';
export {
  CORE_FEATURES,
  DEFAULT_SPIN_WAIT_RETRY_COUNT,
  type HostExtension,
  HvPartition,
  type PartitionConfig,
} from './partition.js';
export { ExtensionKey, HOST_MEMORY, type HostMemoryAccess } from './ports.js';
export {
  checkSnapshotVersion,
  listSnapshotNames,
  readSnapshotBase64,
  readSnapshotBoolean,
  readSnapshotCount,
  readSnapshotInt,
  readSnapshotObject,
  readSnapshotU64,
  SNAPSHOT_MESSAGE_MAX,
  type SnapshotData,
  SnapshotError,
  type SnapshotPart,
  showSnapshotText,
  showSnapshotValue,
  snapshotCount,
  snapshotCounts,
  snapshotFieldError,
  snapshotU64,
} from './snapshot.js';
export {
  HypercallSuspended,
  type HypercallSuspension,
  isHypercallSuspended,
  type VpSuspension,
} from './suspend.js';
export {
  SoftwareTlb,
  type TlbEntry,
} from './tlb.js';
export { HvVpState, type SyntheticMsr } from './vp-state.js';
