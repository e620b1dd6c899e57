export {
  enableHypercalls,
  type GuestCpuState,
  initCpu,
} from './boot.js';
export type {
  GuestContext,
  GuestCpu,
} from './cpu.js';
export {
  detectHyperV,
  type HyperVInfo,
} from './detect.js';
export {
  GuestHypercalls,
  type HypercallOutcome,
  type PerCpuHypercallPages,
  type PerCpuPageLayout,
  perCpuHypercallPages,
} from './hypercalls.js';
export type {
  DoubleMappedRingView,
  GuestBoundaryView,
  GuestMemorySharing,
  HostVisibilityChange,
} from './memory-sharing.js';
export { GuestPageAllocator } from './page-allocator.js';
export {
  GUEST_TSC_HZ,
  type GuestProgram,
  type GuestProgramCpu,
  GuestProgramFailure,
} from './program.js';
export {
  VP_INVAL,
  VpIndexTable,
} from './vp-index.js';
