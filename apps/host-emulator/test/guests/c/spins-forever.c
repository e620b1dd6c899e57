/* Spins on memory no one writes, with cpu_relax (a PAUSE exit) so the host can stop it. */
#include <pvlab/guest.h>

static volatile int never;

void guest_main(int cpu) {
  (void)cpu;
  while (!never) pvlab_pause();
}
