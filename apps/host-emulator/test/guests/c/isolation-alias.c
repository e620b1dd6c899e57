/* In an isolation VM, reads guest memory through the shared alias (GPA | the boundary) before
 * the host may see the page: the boundary view refuses the wrong alias with a MEMORY fault. */
#include <pvlab/guest.h>

__attribute__((noinline)) static uint64_t read_through_alias(uint64_t gpa) {
  uint64_t value = 0;
  pvlab_shared_read(gpa, &value, sizeof value);
  return value;
}

void guest_main(int cpu) {
  char bits[4] = {0};
  int n = pvlab_arg("boundary-bits", bits, sizeof bits);
  if (n <= 0) pvlab_fail("--guest-arg boundary-bits=N is required");
  uint64_t boundary = 1ull << ((bits[0] - '0') * 10 + (bits[1] - '0'));
  pvlab_report("cpu", cpu);
  pvlab_report("value", (int64_t)read_through_alias(0x5000 | boundary));
}
