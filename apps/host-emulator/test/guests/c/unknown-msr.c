/* A C guest that reads an MSR the partition does not have: #GP, which ends the run naming the
 * C function that executed the RDMSR. */
#include <pvlab/guest.h>

__attribute__((noinline)) static uint64_t read_missing_msr(void) { return pvlab_rdmsr(0x400000ffu); }

void guest_main(int cpu) {
  pvlab_report("before", cpu);
  pvlab_report("value", (int64_t)read_missing_msr());
}
