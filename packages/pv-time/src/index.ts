export { SmcccFunctionIdLayout } from './wire/function-id.js';
export {
  PV_TIME_ST_DRAFT_V4,
  SmcccFunction,
  smcccFunctionName,
} from './wire/ids.js';
export {
  SMCCC_RET_INVALID_PARAMETER,
  SMCCC_RET_NOT_REQUIRED,
  SMCCC_RET_NOT_SUPPORTED,
  SMCCC_RET_SUCCESS,
  SmcccReturnCode,
  type SmcccReturnCodeName,
  smcccRegister,
  smcccReturnCodeName,
  smcccSigned,
} from './wire/return-codes.js';
export {
  readStolenTimeRecord,
  StolenTimeRecord,
  type StolenTimeRecordFields,
  writeStolenTimeRecord,
} from './wire/stolen-time-record.js';
export {
  decodeSmcccVersion,
  encodeSmcccVersion,
  type SmcccVersion,
} from './wire/version.js';
