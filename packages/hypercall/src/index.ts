export {
  GuestFault,
  type GuestFaultValue,
  type GuestFaultVector,
  guestFaultValue,
  isGuestFault,
} from './guest-fault.js';
export { PendingInterrupts } from './interrupts.js';
export {
  GuestMemory,
  GuestPage,
  type GuestPhysicalMemory,
  MAX_GUEST_MEMORY_BYTES,
} from './memory.js';
export {
  WASM_PAGE_SIZE,
  type WasmMemory,
  wasmGuestRamError,
  wasmMemoryBytes,
} from './wasm-memory.js';
export {
  X2APIC_MSR_ICR,
  X2ApicIcr,
} from './wire/apic.js';
export {
  type BitField,
  type BitFieldKind,
  type BitFieldSpec,
  type BitFields,
  type BitLayout,
  defineBitLayout,
  joinU64,
  splitU64,
} from './wire/bit-layout.js';
export {
  type ByteField,
  type ByteFieldKind,
  type ByteFieldOf,
  type ByteFieldSpec,
  type ByteFieldType,
  type ByteStruct,
  type ByteStructInput,
  type ByteStructValues,
  defineByteStruct,
  type U64ByteField,
} from './wire/byte-struct.js';
export {
  HvCallCode,
  type HvCallName,
  hvCallName,
} from './wire/call-code.js';
export {
  decodeHypercallControl,
  encodeHypercallControl,
  HV_HYPERCALL_REFUSED_WORDS,
  HV_HYPERCALL_RSVD_MASK,
  HypercallControl,
  type HypercallControlFields,
  type HypercallControlInput,
} from './wire/control.js';
export {
  type CpuidResult,
  HvCpuidLeaf,
  HvFeature,
  type HvFeatureName,
} from './wire/cpuid.js';
export {
  fastSlotName,
  HV_XMM_FAST_BYTES,
  HV_XMM_FAST_SLOTS,
} from './wire/fast.js';
export {
  HV_ANY_VP,
  HV_PARTITION_ID_SELF,
  HV_VP_INDEX_SELF,
} from './wire/ids.js';
export {
  GuestOsIdOpenSource,
  HV_X64_MSR_GUEST_OS_ID,
  HV_X64_MSR_HYPERCALL,
  HV_X64_MSR_VP_INDEX,
  HypercallMsr,
  linuxGuestOsId,
} from './wire/msr.js';
export { NotifyLongSpinWaitInput } from './wire/notify-long-spin-wait.js';
export {
  type CpuVendor,
  HV_PAGE_SHIFT,
  HV_PAGE_SIZE,
  HV_PARAMETER_ALIGNMENT,
  hypercallPageCode,
} from './wire/page.js';
export {
  decodeHypercallResult,
  encodeHypercallResult,
  HypercallResult,
  type HypercallResultFields,
} from './wire/result.js';
export {
  HvStatus,
  type HvStatusCode,
  hvStatusName,
} from './wire/status.js';
