export {
  enablePartitionVtl,
  enableVpVtl,
} from './enable.js';
export {
  VTL_FEATURES,
  vtlExtension,
} from './extension.js';
export {
  MODELLED_REGISTERS,
  type ModelledRegister,
  modelledRegister,
  type RegisterAccessor,
  type RegisterKind,
  type RegisterRead,
  readVpRegister,
  VTL_CALL_PAGE_OFFSET,
  VTL_RETURN_PAGE_OFFSET,
  type VtlRegisterContext,
  writeVpRegister,
} from './register-file.js';
export {
  VTL_PACKAGE,
  VTL_STATE,
  type VtlEvent,
  type VtlHostOptions,
  VtlHostState,
  vtlHostState,
} from './state.js';
export {
  getVpRegisters,
  setVpRegisters,
} from './vp-registers.js';
export { VpVtlRegisters, VpVtlState } from './vp-vtl-state.js';
export {
  vtlCall,
  vtlReturn,
} from './vtl-call.js';
