export {
  type CostStrategy,
  type CostVm,
  type HypercallCost,
  ipiCost,
  shootdownCost,
} from './cost.js';
export {
  type CpumaskVpSet,
  cpumaskToVpSet,
} from './cpumask-to-vpset.js';
export {
  type HvCpuEnv,
  hvCpuEnv,
  hvCpuNumberToVpNumber,
  isVpInval,
  type VpIndexLookup,
} from './env.js';
export {
  fillGvaList,
  gvaListLength,
  HV_TLB_FLUSH_UNIT,
} from './fill-gva-list.js';
export {
  chooseFlush,
  type FlushChoiceOptions,
  type FlushRequest,
  TLB_FLUSH_ALL,
} from './flush-plan.js';
export {
  type HvCpu,
  hvSendIpi,
  hvSendIpiMask,
} from './hv-apic.js';
export {
  hvFlushTlbOthers,
  type NativeTlbFlusher,
} from './hv-mmu.js';
export {
  executePlan,
  type HypercallPlan,
  issueHypercallPlan,
  NATIVE_REASONS,
  type NativePlan,
  type NativeReason,
  type NoCallPlan,
  type PathOutcome,
  type PathPlan,
  pathOutcomeName,
  type TlbIpiCallName,
} from './hypercall-plan.js';
export {
  Idt,
  type InterruptCpu,
  type InterruptHandler,
} from './idt.js';
export {
  chooseIpi,
  type IpiChoiceOptions,
} from './ipi-plan.js';
export {
  NativeApic,
  type NativeIpiSender,
} from './native-apic.js';
export {
  CALL_FUNCTION_VECTOR,
  CsdLockTimeout,
  flushTlbFunc,
  type LocalTlbCpu,
  TLB_SINGLE_PAGE_FLUSH_CEILING,
  TlbShootdown,
  type TlbShootdownOptions,
} from './tlb-shootdown.js';
