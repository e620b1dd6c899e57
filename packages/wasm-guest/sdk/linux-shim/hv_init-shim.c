/* pvlab Linux shim (MIT, ours): get_vtl() from the tree's arch/x86/hyperv/hv_init.c, extracted
 * verbatim at build time (the whole file is the x86 boot: EFI, kexec, syscore, clock sources,
 * ...). It is static there, so shim_get_vtl() calls it. */
#include <linux/kconfig.h>
#include <linux/kernel.h>
#include <asm/mshyperv.h>

#include <pvlab-extract/arch/x86/hyperv/hv_init.c/get_vtl>

u8 shim_get_vtl(void)
{
	return get_vtl();
}
