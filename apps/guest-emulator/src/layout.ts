import { TlbShootdown } from '@pvlab/tlb-ipi/guest';
import { ISOLATION_WORKLOAD_PAGES } from './isolation-workload.js';

/**
 * The guest kernel's physical memory map. Everything the vCPUs share lives in guest RAM at
 * these addresses, because each vCPU is its own thread and shares nothing else.
 */

/** The hypercall page (enabled by the boot CPU). */
export const HYPERCALL_PAGE_GPA = 0x10_0000n;
/** `hv_vp_index[]`: one u32 per CPU. */
export const VP_INDEX_TABLE_GPA = 0x10_1000n;
/**
 * `cpu_online_mask`: one u32 per CPU, set to 1 when the CPU is marked online — as in Linux,
 * before its hotplug callbacks (`hv_cpu_init`) have read its VP index.
 */
export const CPU_ONLINE_GPA = 0x10_5000n;
/** CPUs fully up (every hotplug callback done, VP index known): one u32 per CPU. */
export const CPU_UP_GPA = 0x10_a000n;
/** Per-CPU hypercall input/output pages start here: CPU n owns 2 pages at base + n × 8 KiB. */
export const PER_CPU_PAGES_GPA = 0x11_0000n;
/** Pages each CPU owns. */
export const PAGES_PER_CPU = 2;
/** The most CPUs the tables above hold (4 KiB × 4 = 4096 u32 entries). */
export const MAX_KERNEL_CPUS = 4096;

/** Kernel globals: u32 counters the CPUs meet at (see `KernelGlobal`). */
export const KERNEL_GLOBALS_GPA = 0x10_9000n;
/** Byte offsets of the kernel globals. */
export const KernelGlobal = {
  /** CPUs that finished their workloads. */
  workloadsDone: 0,
  /** CPUs that took their last interrupts after everyone finished. */
  drained: 4,
} as const;

/** The VTL scenario's flags (u32 words), in the kernel-globals page after the counters. */
export const VTL_FLAGS_GPA = KERNEL_GLOBALS_GPA + 0x100n;
/** The VMBus driver's state (see `vmbus-state.ts`): what a restored guest resumes from. */
export const VMBUS_STATE_GPA = KERNEL_GLOBALS_GPA + 0x200n;

/** VMBus ring pages per direction: a control page and 4 data pages (16 KiB of ring). */
export const VMBUS_RING_PAGES = 5;
/** Isolation VMs: the swiotlb-like bounce pool the VMBus workload's GPA-direct packets use. */
export const VMBUS_BOUNCE_POOL_PAGES = 8;
/** Isolation VMs: the driver's private staging buffer (what it bounces), in pages. */
export const VMBUS_STAGING_PAGES = 1;
/**
 * VMBus pages: SIMP, SIEFP, the two monitor pages, the guest→host and host→guest rings, then the
 * bounce pool and the staging buffer (used in isolation VMs).
 */
export const VMBUS_PAGES = 4 + 2 * VMBUS_RING_PAGES + VMBUS_BOUNCE_POOL_PAGES + VMBUS_STAGING_PAGES;
/** The VMBus SINT's interrupt vector. */
export const VMBUS_VECTOR = 0xf3;

/** The vector the boot CPU sends to start a secondary CPU (our INIT-SIPI). */
export const STARTUP_VECTOR = 0xf0;
/** The vector of the IPI ring in the workload. */
export const RING_VECTOR = 0xf1;
/** The vector CPU 0 wakes halted CPUs with once every CPU is up (Linux `smp_cpus_done`). */
export const SMP_DONE_VECTOR = 0xf2;

/**
 * CPUs that send in the IPI and TLB-shootdown workloads (every CPU receives). Each sender has a
 * vector of its own per IPI round, so a receiver knows whose IPI it got.
 */
export const WORKLOAD_SENDERS = 32;
/**
 * CPUs that send IPI rounds while the others come online (the rest halt until every CPU is up,
 * so a big VM does not spin on every vCPU through a sequential bring-up).
 */
export const BRINGUP_IPI_SENDERS = 4;
/** IPI workload, round during bring-up: sender s uses vector 0xC0 + s. */
export const IPI_BRINGUP_VECTOR_BASE = 0xc0;
/** IPI workload, round once every CPU is online: sender s uses vector 0xA0 + s. */
export const IPI_ONLINE_VECTOR_BASE = 0xa0;

/** Bytes of one IPI tag: u32 seq, u32 acked, u32 hv_vp_index[] as read, u32 flags. */
export const IPI_TAG_BYTES = 16;
/** Bytes of one CPU's stray-IPI record. */
export const IPI_STRAY_BYTES = 32;

/** TLB-shootdown workload: sender s flushes its mm (page directory at this GPA + s × 4 KiB). */
export const SHOOTDOWN_PGD_BASE = 0x0100_0000n;
/** …4 pages of user memory at this GVA + s × 1 MiB, */
export const SHOOTDOWN_USER_GVA = 0x7f00_0000_0000n;
/** …10 GiB of user memory here (more than a List call holds: a "Space" call), */
export const SHOOTDOWN_USER_BIG_GVA = 0x7e00_0000_0000n;
/** …and 2 kernel pages (no mm) at this GVA + s × 64 KiB. */
export const SHOOTDOWN_KERNEL_GVA = 0xffff_c900_0000_0000n;

/** Where the kernel keeps what its CPUs share beyond the fixed pages above. */
export interface KernelLayout {
  /** Per-CPU input/output pages (`PAGES_PER_CPU` per CPU). */
  readonly perCpuPages: bigint;
  /** IPI workload tags: [round][sender][target]. */
  readonly ipiTags: bigint;
  /** IPI workload stray records, one per receiving CPU. */
  readonly ipiStrays: bigint;
  /** The native TLB shootdown's request blocks (`TlbShootdown.bytes`). */
  readonly shootdown: bigint;
  /** CPU 0's VMBus pages (`VMBUS_PAGES` of them: SIMP, SIEFP, two monitor pages, the two rings). */
  readonly vmbus: bigint;
  /** CPU 0's pages for the isolation workload (`ISOLATION_WORKLOAD_PAGES`). */
  readonly isolation: bigint;
  /** The first byte past the kernel's memory. */
  readonly end: bigint;
}

const pageUp = (n: bigint) => (n + 0xfffn) & ~0xfffn;

/** The kernel's memory map for `cpus` CPUs. */
export function kernelLayout(cpus: number): KernelLayout {
  const senders = Math.min(cpus, WORKLOAD_SENDERS);
  const ipiTags = PER_CPU_PAGES_GPA + BigInt(cpus * PAGES_PER_CPU * 4096);
  const ipiStrays = pageUp(ipiTags + BigInt(2 * senders * cpus * IPI_TAG_BYTES));
  const shootdown = pageUp(ipiStrays + BigInt(cpus * IPI_STRAY_BYTES));
  const vmbus = pageUp(shootdown + BigInt(TlbShootdown.bytes(cpus)));
  const isolation = vmbus + BigInt(VMBUS_PAGES * 4096);
  const end = isolation + BigInt(ISOLATION_WORKLOAD_PAGES * 4096);
  return { perCpuPages: PER_CPU_PAGES_GPA, ipiTags, ipiStrays, shootdown, vmbus, isolation, end };
}

/** Guest RAM the kernel needs for `cpus` CPUs. */
export function kernelMemoryBytes(cpus: number): number {
  return Number(kernelLayout(cpus).end);
}
