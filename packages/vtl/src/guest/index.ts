export {
  GET_VTL_LAYOUTS,
  GetVtlError,
  type GetVtlLayout,
  getVtl,
  getVtlOutputGpa,
} from './get-vtl.js';
export {
  getVpRegisters,
  type RegisterAssoc,
  setVpRegisters,
  type VpRegistersOutcome,
  type VpRegistersTarget,
} from './vp-registers.js';
export {
  enablePartitionVtl,
  enableVpVtl,
  vtlCall,
  vtlReturn,
} from './vtl-management.js';
