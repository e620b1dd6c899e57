/* pvlab Linux shim (MIT, ours): bringing up the Linux side of a guest. Linux does this in
 * ms_hyperv_init_platform(), hyperv_init() and the CPU hotplug callbacks, none of which is compiled
 * here; boot.c does the same steps with the shim. */
#ifndef PVLAB_SHIM_BOOT_H
#define PVLAB_SHIM_BOOT_H

#include <linux/kernel.h>

/* Once, on one vCPU, before any other uses the shim: CPU masks and per-CPU areas for every vCPU,
 * ms_hyperv from CPUID, hv_vp_index[] (all VP_INVAL), the guest OS id and the hypercall page. */
void shim_boot(void);

/* On each vCPU after shim_boot(): Linux's own hv_common_cpu_init() for it (drivers/hv/hv_common.c:
 * its hypercall input page and hv_vp_index entry). Returns its result. */
int shim_cpu_up(void);

#endif
