/* pvlab Linux shim (MIT, ours): x86's 4 KiB page (<asm/page.h>); guest memory is identity-mapped
 * (GPA = wasm address), so __pa/__va are casts. */
#ifndef PVLAB_SHIM_ASM_PAGE_H
#define PVLAB_SHIM_ASM_PAGE_H

#include <linux/types.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & PAGE_MASK)
#define offset_in_page(p) ((unsigned long)(p) & ~PAGE_MASK)
#define __pa(x) ((phys_addr_t)(uintptr_t)(x))
#define __va(x) ((void *)(uintptr_t)(x))

#endif
