/**
 * The guest kernel's physical memory map. Everything the vCPUs share lives in guest RAM at
 * these addresses, because each vCPU is its own thread and shares nothing else.
 */

/** The hypercall page (enabled by the boot CPU). */
export const HYPERCALL_PAGE_GPA = 0x10_0000n;
/** `hv_vp_index[]`: one u32 per CPU. */
export const VP_INDEX_TABLE_GPA = 0x10_1000n;
/** `cpu_online_mask`: one u32 per CPU, set to 1 when the CPU is online. */
export const CPU_ONLINE_GPA = 0x10_5000n;
/** Per-CPU hypercall input/output pages start here: CPU n owns 2 pages at base + n × 8 KiB. */
export const PER_CPU_PAGES_GPA = 0x11_0000n;
/** Pages each CPU owns. */
export const PAGES_PER_CPU = 2;
/** The most CPUs the tables above hold (4 KiB × 4 = 4096 u32 entries). */
export const MAX_KERNEL_CPUS = 4096;

/** The vector the boot CPU sends to start a secondary CPU (our INIT-SIPI). */
export const STARTUP_VECTOR = 0xf0;
/** The vector of the IPI ring in the workload. */
export const RING_VECTOR = 0xf1;

/** Guest RAM the kernel needs for `cpus` CPUs. */
export function kernelMemoryBytes(cpus: number): number {
  return Number(PER_CPU_PAGES_GPA) + cpus * PAGES_PER_CPU * 4096;
}
