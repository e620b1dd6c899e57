/* pvlab Linux shim (MIT, ours): hv_common_cpu_init() from the tree's drivers/hv/hv_common.c,
 * extracted verbatim at build time. The whole file would need ACPI, sysctl, kmsg_dump, panic
 * notifiers, EFI and the DMA API; the globals it defines are in boot.c. */
#include <linux/kconfig.h>
#include <linux/kernel.h>
#include <linux/set_memory.h>
#include <asm/mshyperv.h>

#include <pvlab-extract/drivers/hv/hv_common.c/hv_common_cpu_init>
