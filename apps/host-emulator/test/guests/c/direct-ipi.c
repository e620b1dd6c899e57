/* Exported functions a direct-harness test calls on createVm vCPUs: send a fixed IPI, and
 * look for interrupts at a PAUSE (an exit, after which the SDK delivers from wasm). */
#include <pvlab/guest.h>

static volatile int last_vector[64];
static volatile int deliveries[64];

void pvlab_interrupt(int vector) {
  last_vector[pvlab_cpu()] = vector;
  deliveries[pvlab_cpu()] += 1;
}

__attribute__((export_name("send_ipi"))) void send_ipi(int target, int vector) { pvlab_send_ipi(target, vector); }

/* A PAUSE; returns the last vector delivered to this vCPU since the previous poll (0 if none). */
__attribute__((export_name("poll"))) int poll(void) {
  pvlab_pause();
  int v = last_vector[pvlab_cpu()];
  last_vector[pvlab_cpu()] = 0;
  return v;
}

__attribute__((export_name("deliveries"))) int count(void) { return deliveries[pvlab_cpu()]; }
