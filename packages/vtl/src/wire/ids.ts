/** Spec 03 "Common encodings": the partition and VP ids that mean "the caller's own". */

// Declared once in the core's wire; re-exported where the VTL calls use them.
export { HV_ANY_VP, HV_PARTITION_ID_SELF, HV_VP_INDEX_SELF } from '@pvlab/hypercall';
/** The highest VTL the hypervisor implements (Hyper-V/openvmm: 0–2; the architecture allows 15). */
export const HV_MAX_IMPLEMENTED_VTL = 2;
/** The architectural VTL count (HvRegisterVsmVpSecureConfigVtl0..14 exist for VTLs below 15). */
export const HV_ARCHITECTURAL_VTLS = 16;
