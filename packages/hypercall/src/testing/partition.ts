import {
  CORE_FEATURES,
  DEFAULT_SPIN_WAIT_RETRY_COUNT,
  type HostExtension,
  HvPartition,
} from '../host/partition.js';
import { GuestMemory } from '../memory.js';
import type { CpuidResult, HvFeatureName } from '../wire/cpuid.js';
import { HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL } from '../wire/msr.js';
import type { CpuVendor } from '../wire/page.js';
import { HYPERCALL_PAGE_GPA, LINUX_GUEST_OS_ID, TEST_RAM_BYTES } from './constants.js';

/** Anything that executes WRMSR on one VP: a `GuestCpu`, a createVm `vm.vp(i)`. */
export interface MsrWriter {
  writeMsr(msr: bigint, value: bigint): void;
}

/**
 * GUEST_OS_ID (Linux) then HYPERCALL with Enable and the page at `pageGpa` — the order spec 01
 * rule 15 requires. A partition is written from VP 0; an `MsrWriter` from its own VP.
 */
export function enableTestHypercalls(
  target: HvPartition | MsrWriter,
  pageGpa: bigint = HYPERCALL_PAGE_GPA,
): void {
  if ((pageGpa & 0xfffn) !== 0n) {
    throw new RangeError(`enableTestHypercalls: pageGpa = 0x${pageGpa.toString(16)} is not 4 KiB aligned`);
  }
  const write: (msr: bigint, value: bigint) => void =
    target instanceof HvPartition
      ? (msr, value) => target.writeMsr(0, msr, value)
      : (msr, value) => target.writeMsr(msr, value);
  write(HV_X64_MSR_GUEST_OS_ID, LINUX_GUEST_OS_ID);
  write(HV_X64_MSR_HYPERCALL, pageGpa | 1n);
}

/** What `testPartition` builds; every field has a default. */
export interface TestPartitionOptions {
  /** RAM size (default 64 KiB); ignored when `memory` is given. */
  readonly ramBytes?: number;
  /** Use this memory instead of fresh RAM of `ramBytes`. */
  readonly memory?: GuestMemory;
  /** Default 2. */
  readonly vcpus?: number;
  /** Default `'intel'`. */
  readonly vendor?: CpuVendor;
  /** Installed in order (default none). */
  readonly extensions?: readonly HostExtension[];
  /** Feature bits exposed (default: `CORE_FEATURES` and every extension's `features`). */
  readonly features?: readonly HvFeatureName[];
  /** Feature bits removed from `features` (for the "bit absent → ACCESS_DENIED" half of a case). */
  readonly drop?: readonly HvFeatureName[];
  /** Default 0xFFF. */
  readonly maxRepsPerCall?: number;
  /** Default `DEFAULT_SPIN_WAIT_RETRY_COUNT`. */
  readonly spinWaitRetryCount?: number;
  /** Default 48. */
  readonly physicalAddressBits?: number;
  readonly extraCpuidLeaves?: ReadonlyMap<number, CpuidResult>;
  /** Where `enableTestHypercalls` maps the page (default `HYPERCALL_PAGE_GPA`); `false` leaves hypercalls off. */
  readonly hypercallPage?: bigint | false;
}

/**
 * A partition built directly from `HvPartition` — no createVm, so a package can test its host
 * handlers without depending on the host-emulator app — with hypercalls enabled from VP 0.
 */
export function testPartition(options: TestPartitionOptions = {}): HvPartition {
  const extensions = options.extensions ?? [];
  const dropped = new Set(options.drop ?? []);
  const features = options.features ?? [...CORE_FEATURES, ...extensions.flatMap((e) => e.features)];
  const partition = new HvPartition({
    memory: options.memory ?? new GuestMemory(options.ramBytes ?? TEST_RAM_BYTES),
    vcpus: options.vcpus ?? 2,
    vendor: options.vendor ?? 'intel',
    features: features.filter((f) => !dropped.has(f)),
    spinWaitRetryCount: options.spinWaitRetryCount ?? DEFAULT_SPIN_WAIT_RETRY_COUNT,
    physicalAddressBits: options.physicalAddressBits ?? 48,
    maxRepsPerCall: options.maxRepsPerCall ?? 0xfff,
    extensions,
    ...(options.extraCpuidLeaves === undefined ? {} : { extraCpuidLeaves: options.extraCpuidLeaves }),
  });
  const page = options.hypercallPage ?? HYPERCALL_PAGE_GPA;
  if (page !== false) enableTestHypercalls(partition, page);
  return partition;
}
