/* pvlab Linux shim (MIT, ours): which hypervisor the guest runs on (<asm/hypervisor.h>): Hyper-V. */
#ifndef PVLAB_SHIM_ASM_HYPERVISOR_H
#define PVLAB_SHIM_ASM_HYPERVISOR_H

#include <linux/types.h>

enum x86_hypervisor_type {
	X86_HYPER_NATIVE = 0,
	X86_HYPER_MS_HYPERV,
};

#define x86_hyper_type X86_HYPER_MS_HYPERV
#define hypervisor_is_type(type) ((type) == x86_hyper_type)

#endif
