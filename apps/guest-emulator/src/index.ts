export { KernelArgError, kernelOptionsFromArgs, WORKLOADS } from './args.js';
export * from './arm64-kernel.js';
export { checkGuestEmulatorArgs } from './guest-args.js';
export { guestImageUrl } from './image-url.js';
export { type IpiRound, type IpiVerdict, IpiWorkload, vectorOf } from './ipi-workload.js';
export * from './isolation-workload.js';
export {
  type KernelCpuReport,
  type KernelOptions,
  runKernel,
  type VpIndexBug,
  type Workload,
} from './kernel.js';
export * from './layout.js';
export {
  runTlbWorkload,
  shootdownKernelGva,
  shootdownPgd,
  shootdownRequests,
  shootdownUserGva,
  type TlbWorkloadCounts,
} from './tlb-workload.js';
export { runVmbusWorkload, type VmbusWorkloadReport } from './vmbus-workload.js';
export { runVtlScenario, type VtlScenarioReport } from './vtl-workload.js';
