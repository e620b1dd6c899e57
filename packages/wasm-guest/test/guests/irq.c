/* Interrupt delivery: the handler records each vector; exported functions open windows. */
#include "exports.h"

static volatile int count;
static volatile int vectors[32];
static volatile int enabled_in_handler[32];

void pvlab_interrupt(int vector) {
  int n = count;
  if (n < 32) {
    vectors[n] = vector;
    enabled_in_handler[n] = pvlab_irqs_enabled();
  }
  count = n + 1;
  /* An exit inside the handler: the test's log hook captures the stack here, or queues more. */
  pvlab_log("irq %d", vector);
}

EXPORT(irq_count) int irq_count(void) { return count; }
EXPORT(irq_vector) int irq_vector(int i) { return vectors[i]; }
EXPORT(irq_enabled_in_handler) int irq_enabled_in_handler(int i) { return enabled_in_handler[i]; }

/* An exit with interrupts enabled: delivery on its return. */
EXPORT(exit_once) void exit_once(void) { pvlab_pause(); }

/* The pending word after a suspending import, and after a non-suspending one, with delivery off. */
EXPORT(pending_after_pause) int pending_after_pause(void) {
  pvlab_irq_disable();
  pvlab_pause();
  int pending = (int)__pvlab_irq_pending;
  int before = count;
  pvlab_irq_enable();
  return pending * 1000 + (count - before);
}
EXPORT(pending_after_rdtsc) int pending_after_rdtsc(void) {
  pvlab_irq_disable();
  (void)pvlab_rdtsc();
  int pending = (int)__pvlab_irq_pending;
  pvlab_irq_enable();
  return pending;
}

/* irq_save defers delivery past exits; irq_restore delivers: returns delivered-before * 100 + after. */
EXPORT(deferred) int deferred(void) {
  int start = count;
  unsigned long flags = pvlab_irq_save();
  pvlab_pause();
  pvlab_pause();
  int during = count - start;
  pvlab_irq_restore(flags);
  return during * 100 + (count - start);
}

/* Nested save/restore: only the outer restore re-enables. */
EXPORT(nested) int nested(void) {
  int start = count;
  unsigned long outer = pvlab_irq_save();
  unsigned long inner = pvlab_irq_save();
  pvlab_pause();
  pvlab_irq_restore(inner);
  int after_inner = count - start;
  pvlab_irq_restore(outer);
  return after_inner * 100 + (count - start);
}

EXPORT(halt_once) void halt_once(void) { pvlab_halt(); }
EXPORT(disable_then_halt) void disable_then_halt(void) {
  pvlab_irq_disable();
  pvlab_pause();
  pvlab_halt();
}
EXPORT(irqs_enabled) int irqs_enabled(void) { return pvlab_irqs_enabled(); }

void guest_main(int cpu) {
  (void)cpu;
  pvlab_pause();
}
