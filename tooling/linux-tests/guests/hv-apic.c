/*
 * Test driver (MIT, ours) for the tree's arch/x86/hyperv/hv_apic.c on the direct harness: the
 * test calls these exports on chosen vCPUs. IPIs go through `apic`, whose callbacks
 * hv_apic_init() replaced with Linux's hv_send_ipi* functions.
 */
#include <linux/kernel.h>
#include <asm/apic.h>
#include <asm/mshyperv.h>
#include <pvlab-shim/boot.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/* The mask the test fills before lt_send (CPU n = bit n of the words). */
static struct cpumask lt_mask;

EXPORT(lt_mask_bits) unsigned long *lt_mask_bits(void) { return cpumask_bits(&lt_mask); }

/* Linux's boot on the boot CPU: the shim's platform steps, then hv_apic_init(). */
EXPORT(lt_boot) void lt_boot(void)
{
	shim_boot();
	hv_apic_init();
}

/* Linux's hv_common_cpu_init() on this vCPU. */
EXPORT(lt_cpu_up) int lt_cpu_up(void) { return shim_cpu_up(); }

enum lt_how { SEND_ONE, SEND_MASK, SEND_MASK_ALLBUTSELF, SEND_ALLBUTSELF, SEND_ALL, SEND_SELF };

EXPORT(lt_send) void lt_send(int how, int cpu, int vector)
{
	switch (how) {
	case SEND_ONE: apic->send_IPI(cpu, vector); break;
	case SEND_MASK: apic->send_IPI_mask(&lt_mask, vector); break;
	case SEND_MASK_ALLBUTSELF: apic->send_IPI_mask_allbutself(&lt_mask, vector); break;
	case SEND_ALLBUTSELF: apic->send_IPI_allbutself(vector); break;
	case SEND_ALL: apic->send_IPI_all(vector); break;
	case SEND_SELF: apic->send_IPI_self(vector); break;
	default: pvlab_fail("lt_send: unknown form %d", how);
	}
}

/* lt_send `count` times in a row (for measuring the path without a JS call per IPI). */
EXPORT(lt_send_loop) void lt_send_loop(int how, int cpu, int vector, int count)
{
	for (int i = 0; i < count; i++)
		lt_send(how, cpu, vector);
}

/* Linux's state, for the test to read: where hv_vp_index[] is, hv_max_vp_index, the hints. */
EXPORT(lt_vp_index) u32 *lt_vp_index(void) { return hv_vp_index; }
EXPORT(lt_max_vp_index) u32 lt_max_vp_index(void) { return hv_max_vp_index; }
EXPORT(lt_hints) u32 lt_hints(void) { return ms_hyperv.hints; }
EXPORT(lt_input_page) void *lt_input_page(int cpu) { return *per_cpu_ptr(hyperv_pcpu_input_arg, cpu); }

/* Sets CPU cpu's input page: NULL is a CPU before its hv_common_cpu_init (the hypercall page is there). */
EXPORT(lt_set_input_page) void lt_set_input_page(int cpu, void *page) { *per_cpu_ptr(hyperv_pcpu_input_arg, cpu) = page; }

/* A CPU that has not come up yet: its hv_vp_index[] entry is VP_INVAL again. */
EXPORT(lt_forget_vp) void lt_forget_vp(int cpu) { hv_vp_index[cpu] = VP_INVAL; }
