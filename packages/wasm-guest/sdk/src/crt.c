/*
 * The SDK's entry and interrupt delivery (@pvlab/wasm-guest, MIT). The runtime calls
 * pvlab_start() once per vCPU, in that vCPU's own instance, after giving it its own stack and
 * TLS; everything here that is per-vCPU lives in TLS.
 */
#include <pvlab/guest.h>

_Thread_local struct pvlab_vcpu_info __pvlab_info;
_Thread_local volatile uint32_t __pvlab_irq_pending;
_Thread_local volatile uint32_t __pvlab_irq_enabled;

/* The guest's handler overrides this one. */
__attribute__((weak)) void pvlab_interrupt(int vector) { (void)vector; }

/* A guest with only exported functions (driven from JS) has no guest_main of its own. */
__attribute__((weak)) void guest_main(int cpu) {
  pvlab_fail("the guest defines no guest_main(int cpu) (vCPU %d)", cpu);
}

/*
 * Fills this vCPU's info and tells the runtime where its pending word is; interrupts enabled.
 * The runtime calls it right after __wasm_init_tls, so exported functions see their vCPU too.
 */
__attribute__((export_name("pvlab_init_vcpu"))) void pvlab_init_vcpu(void) {
  __pvlab_import_vcpu_info(__pvlab_addr(&__pvlab_info));
  __pvlab_import_irq_flag_at(__pvlab_addr(&__pvlab_irq_pending));
  __pvlab_irq_enabled = 1;
}

__attribute__((export_name("pvlab_start"))) void pvlab_start(void) {
  pvlab_init_vcpu();
  guest_main((int)__pvlab_info.cpu);
}

/*
 * Runs pvlab_interrupt(v) with interrupts disabled for every pending vector, from wasm: the
 * caller's frames stay wasm frames (the one-thread engine's Asyncify cannot unwind through JS).
 * take_interrupt clears the pending word when it hands out the last vector; a handler's exits
 * may set it again, and the loop goes on.
 */
void __pvlab_deliver(void) {
  while (__pvlab_irq_enabled != 0 && __pvlab_irq_pending != 0) {
    int vector = __pvlab_import_take_interrupt();
    if (vector < 0) break;
    __pvlab_irq_enabled = 0;
    pvlab_interrupt(vector);
    __pvlab_irq_enabled = 1;
  }
}
