/* pvlab Linux shim (MIT, ours): RDMSR/WRMSR/RDTSC (<asm/msr.h>) as the SDK's exits. A refused
 * access faults (#GP ends the run) except through the _safe forms, which return -EIO. */
#ifndef PVLAB_SHIM_ASM_MSR_H
#define PVLAB_SHIM_ASM_MSR_H

#include <pvlab/guest.h>
#include <linux/types.h>

#define rdmsrl(msr, val) do { (val) = pvlab_rdmsr(msr); } while (0)
#define wrmsrl(msr, val) pvlab_wrmsr((msr), (val))
#define rdmsr(msr, low, high)                                                               \
	do {                                                                                 \
		u64 __pvlab_msr = pvlab_rdmsr(msr);                                           \
		(low) = (u32)__pvlab_msr;                                                     \
		(high) = (u32)(__pvlab_msr >> 32);                                            \
	} while (0)
#define wrmsr(msr, low, high) pvlab_wrmsr((msr), ((u64)(u32)(high) << 32) | (u32)(low))
#define rdmsrl_safe(msr, p) pvlab_rdmsr_safe((msr), (p))
#define wrmsrl_safe(msr, val) pvlab_wrmsr_safe((msr), (val))
#define rdmsr_safe(msr, low, high)                                                          \
	({                                                                                   \
		u64 __pvlab_msr = 0;                                                          \
		int __pvlab_err = pvlab_rdmsr_safe((msr), &__pvlab_msr);                      \
		*(low) = (u32)__pvlab_msr;                                                    \
		*(high) = (u32)(__pvlab_msr >> 32);                                           \
		__pvlab_err;                                                                  \
	})
#define wrmsr_safe(msr, low, high) pvlab_wrmsr_safe((msr), ((u64)(u32)(high) << 32) | (u32)(low))
#define __rdmsr(msr) pvlab_rdmsr(msr)
#define native_read_msr(msr) pvlab_rdmsr(msr)
#define native_write_msr(msr, low, high) wrmsr((msr), (low), (high))

#define rdtsc() pvlab_rdtsc()
#define rdtsc_ordered() pvlab_rdtsc()

#endif
