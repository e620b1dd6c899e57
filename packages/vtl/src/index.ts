export {
  HV_ANY_VP,
  HV_MAX_IMPLEMENTED_VTL,
  HV_PARTITION_ID_SELF,
  HV_VP_INDEX_SELF,
} from './wire/ids.js';
export {
  HV_INPUT_VTL_CURRENT,
  HvInputVtl,
  inputVtl,
  selectInputVtl,
} from './wire/input-vtl.js';
export {
  HvInterceptSuspend,
  HvRegisterName,
  HvSuspendRegister,
  HvVsmCapabilities,
  HvVsmCodePageOffsets,
  HvVsmPartitionConfig,
  HvVsmPartitionStatus,
  HvVsmVina,
  HvVsmVpSecureConfig,
  HvVsmVpStatus,
  HvVsmVpWaitForTlbLock,
  hvRegisterName,
  secureConfigVtlOf,
  vsmVpSecureConfigName,
} from './wire/registers.js';
export {
  GetVpRegistersInput,
  GetVpRegistersInputElement,
  GetVpRegistersOutputElement,
  getVpRegistersInputBytes,
  HvRegisterValue,
  readRegisterValue,
  readVpRegistersHeader,
  SetVpRegistersInput,
  SetVpRegistersInputElement,
  setVpRegistersInputBytes,
  type VpRegistersHeaderFields,
  writeRegisterValue,
  writeVpRegistersHeader,
} from './wire/vp-registers.js';
export {
  EnablePartitionVtlInput,
  EnableVpVtlInput,
  HvEnablePartitionVtlFlags,
  HvVpVtlControl,
  HvVtlCallInput,
  HvVtlEntryReason,
  HvVtlReturnInput,
  InitialVpContextX64,
} from './wire/vtl-management.js';
