export {
  type BounceMapping,
  BouncePool,
  type BouncePoolOptions,
  type DmaDirection,
  IO_TLB_SIZE,
  PoolExhausted,
} from './bounce-pool.js';
export {
  type GuestIsolation,
  type IsolationEra,
  readIsolationConfig,
} from './config.js';
export { guestMemorySharing } from './memory-sharing.js';
export {
  type MonitorPageOptions,
  type SharedMonitorPages,
  shareMonitorPages,
} from './monitor-pages.js';
export {
  aliasPageGpas,
  type SharedMappingOptions,
  SharedPlace,
} from './places.js';
export {
  DoubleMappedRing,
  mapRingThroughAlias,
  type RingMappingOptions,
  shareRing,
} from './ring.js';
export {
  queryHostVisibility,
  setHostVisibility,
  type VisibilityChangeResult,
  type VisibilityQueryResult,
} from './visibility.js';
export {
  shareBuffer,
  vmapPfn,
} from './vmap-pfn.js';
