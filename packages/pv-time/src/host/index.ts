export {
  SmcccConduit,
  type SmcccConduitOptions,
  type SmcccRegisters,
  type SmcccService,
  type SmcccServiceResult,
} from './conduit.js';
export { installPvTime } from './install.js';
export {
  KVM_ARM_VCPU_PVTIME_CTRL,
  KVM_ARM_VCPU_PVTIME_IPA,
  PvTimeHost,
  type PvTimeHostOptions,
  type StolenTimeUpdate,
} from './pv-time-host.js';
export { pvTimeSnapshotPart } from './snapshot.js';
export { PV_TIME_IPA_UNSET, type PvTimeVcpuState } from './vcpu-state.js';
export {
  VmmError,
  type VmmErrorCode,
} from './vmm-error.js';
