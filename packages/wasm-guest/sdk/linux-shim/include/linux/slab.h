/* pvlab Linux shim (MIT, ours): kmalloc and friends (<linux/slab.h>). Like the kernel's, a
 * power-of-two size comes naturally aligned (a page-sized kmalloc is a whole page, which Hyper-V
 * code relies on); memory is zeroed and never reused (kfree does nothing). */
#ifndef PVLAB_SHIM_LINUX_SLAB_H
#define PVLAB_SHIM_LINUX_SLAB_H

#include <linux/types.h>
#include <linux/gfp.h>
#include <linux/overflow.h>

void *kmalloc(size_t size, gfp_t flags);
#define kzalloc(size, flags) kmalloc((size), (flags))
#define kmalloc_array(n, size, flags) kmalloc(array_size((n), (size)), (flags))
#define kcalloc(n, size, flags) kmalloc_array((n), (size), (flags))
#define kfree(p) do { (void)(p); } while (0)

#endif
