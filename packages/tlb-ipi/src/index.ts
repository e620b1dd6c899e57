export {
  CR3_ADDR_MASK,
  type DecodedGvaRange,
  decodeGvaRange,
  encodeGvaRange,
  FlushVirtualAddressListExInput,
  FlushVirtualAddressListExInputElement,
  FlushVirtualAddressListInput,
  FlushVirtualAddressListInputElement,
  FlushVirtualAddressSpaceExInput,
  FlushVirtualAddressSpaceInput,
  HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
} from './wire/flush.js';
export {
  SendSyntheticClusterIpiExInput,
  SendSyntheticClusterIpiInput,
} from './wire/ipi.js';
export {
  HvVpSetBank,
  HvVpSetHeader,
  readSparseVpSet,
  readVpSetHeader,
  sparseVpSetHas,
  VpIndexSet,
  type VpSetBankLayout,
  type VpSetHeader,
  vpSetBytes,
  writeAllVpSet,
  writeSparseVpSet,
} from './wire/vp-set.js';
