/* pvlab Linux shim (MIT, ours): <linux/cpuhotplug.h>: every vCPU is online from boot; the harness
 * runs the per-CPU callbacks (e.g. hv_common_cpu_init) on each vCPU itself. */
#ifndef PVLAB_SHIM_LINUX_CPUHOTPLUG_H
#define PVLAB_SHIM_LINUX_CPUHOTPLUG_H

#include <linux/kernel.h>

#endif
