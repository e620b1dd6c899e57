/* SPDX-License-Identifier: MIT */
/*
 * IPI ping-pong: vCPU 0 pings every other vCPU with a fixed IPI (an x2APIC ICR write,
 * pvlab_send_ipi) and halts until that vCPU's pong comes back, for a number of rounds
 * (--guest-arg rounds=N, default 3). Each vCPU's interrupt handler counts the vectors it gets;
 * the counts are reported.
 */
#include <pvlab/guest.h>

#define PING 0x40
#define PONG 0x41

/* Per vCPU (TLS), bumped by the handler; volatile: the main loop waits for them to change. */
static _Thread_local volatile int pings;
static _Thread_local volatile int pongs;

/* Runs with interrupts disabled, on the vCPU the IPI was sent to. */
void pvlab_interrupt(int vector) {
  if (vector == PING)
    pings++;
  else if (vector == PONG)
    pongs++;
  else
    pvlab_fail("unexpected vector 0x%x", vector);
}

/* --guest-arg rounds=N. */
static int rounds(void) {
  char buf[12];
  int len = pvlab_arg("rounds", buf, sizeof buf);
  if (len < 0) return 3;
  if (len == 0 || len >= (int)sizeof buf) pvlab_fail("--guest-arg rounds=%s: give a number up to 99999999", buf);
  int n = 0;
  for (int i = 0; i < len; i++) {
    if (buf[i] < '0' || buf[i] > '9') pvlab_fail("--guest-arg rounds=%s: give a whole number", buf);
    n = n * 10 + (buf[i] - '0');
  }
  return n;
}

void guest_main(int cpu) {
  int n = rounds();
  int cpus = pvlab_cpu_count();
  if (cpu == 0) {
    for (int round = 0; round < n; round++)
      for (int target = 1; target < cpus; target++) {
        int before = pongs;
        pvlab_send_ipi(target, PING);
        /* halt returns once an interrupt was delivered: maybe not yet the pong. */
        while (pongs == before) pvlab_halt();
      }
    pvlab_report("pongs", pongs);
    pvlab_log("vCPU 0: %d pongs from %d vCPUs in %d rounds", pongs, cpus - 1, n);
  } else {
    for (int round = 0; round < n; round++) {
      /* The next ping may already have been delivered at the last exit (the pong's WRMSR). */
      while (pings == round) pvlab_halt();
      pvlab_send_ipi(0, PONG);
    }
    pvlab_report("pings", pings);
  }
}
