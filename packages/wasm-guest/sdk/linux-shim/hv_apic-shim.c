/* pvlab Linux shim (MIT, ours): compiles the tree's arch/x86/hyperv/hv_apic.c whole and
 * unmodified. hv_apic_init() installs its IPI callbacks in `apic` (see kernel.c). */
#include <linux/kconfig.h>
#include <arch/x86/hyperv/hv_apic.c>
