export { KernelArgError, kernelOptionsFromArgs } from './args.js';
export {
  type Arm64CpuReport,
  type Arm64KernelOptions,
  arm64KernelOptionsFromArgs,
  runArm64Kernel,
  STEAL_IPA_TABLE,
} from './arm64-kernel.js';
export { checkGuestEmulatorArgs } from './guest-args.js';
export { guestImageUrl } from './image-url.js';
export { type IpiRound, type IpiVerdict, IpiWorkload, vectorOf } from './ipi-workload.js';
export {
  ISOLATION_PLACES,
  ISOLATION_WORKLOAD_PAGES,
  type IsolationPlace,
  type IsolationWorkloadReport,
  runIsolationWorkload,
} from './isolation-workload.js';
export { type KernelCpuReport, runKernel } from './kernel.js';
export { type KernelOptions, type VpIndexBug, WORKLOADS, type Workload } from './kernel-options.js';
export {
  BRINGUP_IPI_SENDERS,
  CPU_ONLINE_GPA,
  CPU_UP_GPA,
  HYPERCALL_PAGE_GPA,
  IPI_BRINGUP_VECTOR_BASE,
  IPI_ONLINE_VECTOR_BASE,
  IPI_STRAY_BYTES,
  IPI_TAG_BYTES,
  KERNEL_GLOBALS_GPA,
  KernelGlobal,
  type KernelLayout,
  kernelLayout,
  kernelMemoryBytes,
  MAX_KERNEL_CPUS,
  PAGES_PER_CPU,
  PER_CPU_PAGES_GPA,
  RING_VECTOR,
  SHOOTDOWN_KERNEL_GVA,
  SHOOTDOWN_PGD_BASE,
  SHOOTDOWN_USER_BIG_GVA,
  SHOOTDOWN_USER_GVA,
  SMP_DONE_VECTOR,
  STARTUP_VECTOR,
  VMBUS_BOUNCE_POOL_PAGES,
  VMBUS_PAGES,
  VMBUS_RING_PAGES,
  VMBUS_STAGING_PAGES,
  VMBUS_STATE_GPA,
  VMBUS_VECTOR,
  VP_INDEX_TABLE_GPA,
  VTL_FLAGS_GPA,
  WORKLOAD_SENDERS,
} from './layout.js';
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
