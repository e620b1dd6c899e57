/* pvlab Linux shim (MIT, ours): allocation flags and whole pages (<linux/gfp.h>). Every allocation
 * comes zeroed from the SDK's page allocator and never sleeps, so the flags change nothing. */
#ifndef PVLAB_SHIM_LINUX_GFP_H
#define PVLAB_SHIM_LINUX_GFP_H

#include <linux/types.h>

#define __GFP_ZERO 0x100u
#define __GFP_NOWARN 0x200u
#define GFP_KERNEL 0x1u
#define GFP_ATOMIC 0x2u
#define GFP_NOWAIT 0x4u

unsigned long __get_free_pages(gfp_t gfp, unsigned int order);
#define __get_free_page(gfp) __get_free_pages((gfp), 0)
#define get_zeroed_page(gfp) __get_free_pages((gfp) | __GFP_ZERO, 0)
/* The SDK's allocator is a bump allocator: freed memory is not reused. */
#define free_pages(addr, order) do { (void)(addr); (void)(order); } while (0)
#define free_page(addr) free_pages((addr), 0)

#endif
