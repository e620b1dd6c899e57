/* A C guest for the host's tests: reads who it is, its arguments and the TSC, makes a fast
 * hypercall and an MSR read, reports what it saw. */
#include <pvlab/guest.h>

#define HV_X64_MSR_GUEST_OS_ID 0x40000000u
#define HV_X64_MSR_HYPERCALL 0x40000001u
#define HV_X64_MSR_VP_INDEX 0x40000002u
/* The hypercall page: a page of low RAM (below the image), the same for every vCPU. */
#define HYPERCALL_PAGE_GPA 0x1000ull
/* HvCallFlushVirtualAddressSpace (0x0002) as a fast call with no processors: a success. */
#define HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE 0x0002ull
#define HV_HYPERCALL_FAST_BIT (1ull << 16)

void guest_main(int cpu) {
  char greeting[32];
  int len = pvlab_arg("greeting", greeting, sizeof greeting - 1);
  greeting[len < 0 ? 0 : len] = 0;
  pvlab_log("vCPU %d of %d says %s", cpu, pvlab_cpu_count(), len < 0 ? "nothing" : greeting);
  /* Every vCPU enables hypercalls (partition-wide MSRs, the same values): none depends on another. */
  pvlab_wrmsr(HV_X64_MSR_GUEST_OS_ID, 0x8100ull << 48);
  pvlab_wrmsr(HV_X64_MSR_HYPERCALL, HYPERCALL_PAGE_GPA | 1);
  uint64_t t0 = pvlab_rdtsc();
  uint64_t status = pvlab_hypercall_fast(HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE | HV_HYPERCALL_FAST_BIT, 0, 0);
  uint64_t vp = pvlab_rdmsr(HV_X64_MSR_VP_INDEX);
  uint64_t t1 = pvlab_rdtsc();
  pvlab_report("vp", (int64_t)vp);
  pvlab_report("status", (int64_t)(status & 0xffff));
  pvlab_report("tscForward", t1 > t0);
}
