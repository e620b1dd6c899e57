/* guest_main on every vCPU through guest.program(): what each vCPU sees, output, and failures. */
#include "exports.h"

static int starts; /* data in the image: shared by every vCPU, kept by a restored VM */

static bool streq(const char *a, const char *b) {
  while (*a != 0 && *a == *b) a++, b++;
  return *a == *b;
}

static __attribute__((noinline)) void trap_here(void) { __builtin_trap(); }

void guest_main(int cpu) {
  int n = __atomic_add_fetch(&starts, 1, __ATOMIC_SEQ_CST);
  char mode[32];
  if (pvlab_arg("mode", mode, sizeof mode) < 0) mode[0] = 0;
  pvlab_report("starts", n);
  pvlab_report("restored", pvlab_restored());
  pvlab_report("cpus", pvlab_cpu_count());
  pvlab_report_str("mode", mode);
  if (streq(mode, "fail") && cpu == 1) pvlab_fail("vCPU %d fails on purpose (%s)", cpu, mode);
  if (streq(mode, "trap") && cpu == 1) trap_here();
  if (streq(mode, "gp") && cpu == 1) pvlab_rdmsr(0x4000ffffu);
  pvlab_log("vCPU %d of %d: mode '%s'", cpu, pvlab_cpu_count(), mode);
}
