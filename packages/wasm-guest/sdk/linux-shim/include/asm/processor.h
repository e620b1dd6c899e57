/* pvlab Linux shim (MIT, ours): CPUID and cpu_relax (<asm/processor.h>). cpu_relax() is PAUSE, an
 * exit: a loop spinning on memory must call it to let other vCPUs (and interrupts) in. */
#ifndef PVLAB_SHIM_ASM_PROCESSOR_H
#define PVLAB_SHIM_ASM_PROCESSOR_H

#include <pvlab/guest.h>
#include <linux/types.h>

static inline void cpuid(unsigned int op, unsigned int *eax, unsigned int *ebx, unsigned int *ecx,
			 unsigned int *edx)
{
	struct pvlab_cpuid r = pvlab_cpuid(op);
	*eax = r.eax;
	*ebx = r.ebx;
	*ecx = r.ecx;
	*edx = r.edx;
}

static inline unsigned int cpuid_eax(unsigned int op) { return pvlab_cpuid(op).eax; }
static inline unsigned int cpuid_ebx(unsigned int op) { return pvlab_cpuid(op).ebx; }
static inline unsigned int cpuid_ecx(unsigned int op) { return pvlab_cpuid(op).ecx; }
static inline unsigned int cpuid_edx(unsigned int op) { return pvlab_cpuid(op).edx; }

#define cpu_relax() pvlab_pause()
#define native_halt() pvlab_halt()

#endif
