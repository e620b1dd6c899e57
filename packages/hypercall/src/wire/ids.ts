/** TLFS ids that mean "the caller's own", shared by every call that names a partition or a VP. */

/** HV_PARTITION_ID_SELF: the calling partition. */
export const HV_PARTITION_ID_SELF = 0xffff_ffff_ffff_ffffn;
/** HV_VP_INDEX_SELF: the calling VP. */
export const HV_VP_INDEX_SELF = 0xffff_fffe;
/** HV_ANY_VP: no particular VP. */
export const HV_ANY_VP = 0xffff_ffff;
