export {
  TLB_IPI_FEATURES,
  type TlbIpiHostOptions,
  tlbIpiExtension,
} from './extension.js';
export {
  flushVirtualAddressList,
  flushVirtualAddressListEx,
  flushVirtualAddressSpace,
  flushVirtualAddressSpaceEx,
} from './flush.js';
export {
  sendSyntheticClusterIpi,
  sendSyntheticClusterIpiEx,
} from './ipi.js';
export {
  KVM_HV_TLB_FLUSH_FIFO_SIZE,
  KVM_HV_TLB_FLUSHALL_ENTRY,
} from './kvm-flush-fifo.js';
export { tlbIpiSnapshotPart } from './snapshot.js';
export {
  TLB_FLUSH_MODES,
  TLB_IPI_PACKAGE,
  TLB_IPI_STATE,
  type TlbFlushMode,
  type TlbIpiCounters,
  TlbIpiHostState,
  tlbIpiHostState,
} from './state.js';
