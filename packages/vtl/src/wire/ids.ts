/** Spec 03 "Common encodings": the partition and VP ids that mean "the caller's own". */

/** HV_PARTITION_ID_SELF: the calling partition. */
export const HV_PARTITION_ID_SELF = 0xffff_ffff_ffff_ffffn;
/** HV_VP_INDEX_SELF: the calling VP. */
export const HV_VP_INDEX_SELF = 0xffff_fffe;
/** HV_ANY_VP: no particular VP (never a valid target of these calls). */
export const HV_ANY_VP = 0xffff_ffff;
/** The highest VTL the hypervisor implements (Hyper-V/openvmm: 0–2; the architecture allows 15). */
export const HV_MAX_IMPLEMENTED_VTL = 2;
/** The architectural VTL count (HvRegisterVsmVpSecureConfigVtl0..14 exist for VTLs below 15). */
export const HV_ARCHITECTURAL_VTLS = 16;
