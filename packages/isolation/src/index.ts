export {
  type AccessKind,
  type HostAccessDetails,
  HostAccessError,
  type HostAccessRefusal,
  IsolationFault,
  type IsolationFaultDetails,
} from './errors.js';
export { PageListView } from './page-list-view.js';
export {
  decodeIsolationConfig,
  encodeIsolationConfig,
  type IsolationConfig,
  IsolationConfigEax,
  IsolationConfigEbx,
  IsolationType,
  type IsolationTypeName,
  sharedGpaBoundary,
} from './wire/isolation-config.js';
export {
  encodeModifyVisibilityInput,
  HostVisibility,
  type HostVisibilityValue,
  ModifySparseGpaPageHostVisibilityInput,
  ModifySparseGpaPageHostVisibilityInputElement,
  ModifyVisibilityFlags,
  QuerySparseGpaPageHostVisibilityInput,
  QuerySparseGpaPageHostVisibilityInputElement,
  QuerySparseGpaPageHostVisibilityOutputElement,
} from './wire/visibility.js';
