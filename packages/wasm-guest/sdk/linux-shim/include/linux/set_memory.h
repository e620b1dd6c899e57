/* pvlab Linux shim (MIT, ours): page encryption for isolation VMs (<linux/set_memory.h>,
 * <asm/set_memory.h>). The shim runs ordinary partitions only: converting a page fails the run. */
#ifndef PVLAB_SHIM_LINUX_SET_MEMORY_H
#define PVLAB_SHIM_LINUX_SET_MEMORY_H

#include <linux/kernel.h>

static inline int set_memory_decrypted(unsigned long addr, int numpages)
{
	pvlab_fail("set_memory_decrypted(%lx, %d): the Linux shim does not run isolation VMs", addr, numpages);
}

static inline int set_memory_encrypted(unsigned long addr, int numpages)
{
	pvlab_fail("set_memory_encrypted(%lx, %d): the Linux shim does not run isolation VMs", addr, numpages);
}

#endif
