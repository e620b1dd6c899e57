/*
 * Test driver (MIT, ours) for get_vtl() from the tree's arch/x86/hyperv/hv_init.c on the direct
 * harness: boot, bring the vCPU up (its hypercall input page), then get_vtl().
 */
#include <linux/kernel.h>
#include <asm/mshyperv.h>
#include <pvlab-shim/boot.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/* hv_init-shim.c: calls the tree's static get_vtl(). */
u8 shim_get_vtl(void);

EXPORT(lt_boot) void lt_boot(void) { shim_boot(); }
EXPORT(lt_cpu_up) int lt_cpu_up(void) { return shim_cpu_up(); }
EXPORT(lt_get_vtl) int lt_get_vtl(void) { return shim_get_vtl(); }
EXPORT(lt_input_page) void *lt_input_page(int cpu) { return *per_cpu_ptr(hyperv_pcpu_input_arg, cpu); }
