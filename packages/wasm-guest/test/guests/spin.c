/* Per-vCPU stacks and TLS: guest_main keeps a large array on its stack and _Thread_local data
 * live across an exit, during which the test runs the other vCPUs. */
#include "exports.h"

_Thread_local uint32_t tls_word = 0x5eed;
_Thread_local uint8_t tls_bytes[256];

EXPORT(tls_word_ptr) uint32_t *tls_word_ptr(void) { return &tls_word; }
EXPORT(tls_set) void tls_set(uint32_t v) { tls_word = v; }
EXPORT(tls_get) uint32_t tls_get(void) { return tls_word; }

void guest_main(int cpu) {
  volatile uint8_t stack[8192];
  for (unsigned i = 0; i < sizeof stack; i++) stack[i] = (uint8_t)(cpu * 31 + i);
  for (unsigned i = 0; i < sizeof tls_bytes; i++) tls_bytes[i] = (uint8_t)(cpu + i);
  tls_word = 0x1000u + (uint32_t)cpu;
  pvlab_pause(); /* the test runs the next vCPU here */
  unsigned bad_stack = 0, bad_tls = 0;
  for (unsigned i = 0; i < sizeof stack; i++) bad_stack += stack[i] != (uint8_t)(cpu * 31 + i);
  for (unsigned i = 0; i < sizeof tls_bytes; i++) bad_tls += tls_bytes[i] != (uint8_t)(cpu + i);
  pvlab_report("stack_bad", bad_stack);
  pvlab_report("tls_bad", bad_tls);
  pvlab_report("tls_word", tls_word);
}

/* Where this vCPU's stack is: the address of a local. */
static volatile uintptr_t seen;
EXPORT(stack_addr) uintptr_t stack_addr(void) {
  volatile uint32_t local = 1;
  seen = (uintptr_t)&local;
  return seen;
}
