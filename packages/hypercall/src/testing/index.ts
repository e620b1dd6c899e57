/**
 * `@pvlab/hypercall/testing`: a partition without createVm, for testing host handlers and guest
 * code against the real dispatcher — constants, `testPartition`, `enableTestHypercalls`,
 * `partitionGuestCpu`/`partitionGuest`, `rawCall`, `rawDispatch`, and `structLayout` for holding a
 * declared structure to its spec table.
 */
export {
  HYPERCALL_PAGE_GPA,
  INPUT_GPA,
  LINUX_GUEST_OS_ID,
  OUTPUT_GPA,
  TEST_RAM_BYTES,
} from './constants.js';
export {
  type PartitionGuestCpu,
  type PartitionGuestOptions,
  partitionGuest,
  partitionGuestCpu,
} from './guest-cpu.js';
export {
  enableTestHypercalls,
  type MsrWriter,
  type TestPartitionOptions,
  testPartition,
} from './partition.js';
export {
  type RawCallOptions,
  type RawCallResult,
  type RawDispatchResult,
  rawCall,
  rawDispatch,
} from './raw-call.js';
export { structLayout } from './struct-layout.js';
