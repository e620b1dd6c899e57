export {
  CR3_ADDR_MASK,
  type DecodedGvaRange,
  decodeGvaRange,
  encodeGvaRange,
  FlushCallCode,
  FlushExInput,
  FlushInput,
  HV_FLUSH_NON_GLOBAL_MAPPINGS_ONLY,
} from './wire/flush.js';
export {
  IpiCallCode,
  IpiExInput,
  IpiInput,
} from './wire/ipi.js';
export {
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
