/* pvlab Linux shim (MIT, ours): virt_to_phys and friends (<asm/io.h>): GPA = wasm address. */
#ifndef PVLAB_SHIM_ASM_IO_H
#define PVLAB_SHIM_ASM_IO_H

#include <pvlab/guest.h>
#include <asm/page.h>

static inline phys_addr_t virt_to_phys(volatile void *p) { return pvlab_gpa((const void *)p); }
static inline void *phys_to_virt(phys_addr_t gpa) { return pvlab_ptr(gpa); }
#define slow_virt_to_phys(p) virt_to_phys(p)
#define page_to_phys(p) virt_to_phys(p)

#endif
