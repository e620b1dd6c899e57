export {
  type IsolationExtension,
  type IsolationOptions,
  isolationExtension,
} from './extension.js';
export { HostMemoryView } from './host-memory.js';
export {
  modifySparseGpaPageHostVisibility,
  querySparseGpaPageHostVisibility,
} from './hypercalls.js';
export {
  IsolatedGuestMemory,
  type IsolatedGuestMemoryOptions,
} from './isolated-guest-memory.js';
export {
  CONVERSION_CONTENTS,
  type ConversionContents,
  DEFAULT_SCRAMBLE_SEED,
  PageScrambler,
} from './scramble.js';
export {
  ISOLATION_PACKAGE,
  ISOLATION_STATE,
  type IsolationCounters,
  type IsolationEvent,
  IsolationHostState,
  isolationHostState,
  type ReadOnlyVisibilityPolicy,
} from './state.js';
export { VisibilityMap } from './visibility-map.js';
