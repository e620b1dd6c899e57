/* Counts boots in the image's own data: a fresh VM starts each vCPU's counter at 1; a VM restored
 * from a snapshot keeps its memory, data segments included (they are initialised once per
 * memory), so the counter goes on from where the last run left it. */
#include <pvlab/guest.h>

static uint64_t boots[64];

void guest_main(int cpu) {
  if (pvlab_restored() && boots[cpu] == 0) pvlab_fail("restored, but vCPU %d's counter is 0", cpu);
  boots[cpu] += 1;
  pvlab_report("boots", (int64_t)boots[cpu]);
  pvlab_report("restored", pvlab_restored());
}
