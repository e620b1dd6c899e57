/* pvlab Linux shim (MIT, ours): vmalloc (<linux/vmalloc.h>): guest memory is identity-mapped, so
 * it is the page allocator too. */
#ifndef PVLAB_SHIM_LINUX_VMALLOC_H
#define PVLAB_SHIM_LINUX_VMALLOC_H

#include <linux/kernel.h>

#define vmalloc(size) kmalloc(PAGE_ALIGN(size), GFP_KERNEL)
#define vzalloc(size) vmalloc(size)
#define vfree(p) kfree(p)
#define vmalloc_to_pfn(p) ((unsigned long)(virt_to_phys(p) >> PAGE_SHIFT))

#endif
